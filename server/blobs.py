"""Content-addressed file storage under the data directory.

Bytes are written to a temporary file while their SHA-256 is computed, then
renamed to ``blobs/<first two hex>/<sha256>``: the same file uploaded twice
is stored once, and a file is either complete or absent (rename is atomic),
so a service killed mid-upload leaves no half file behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import filetype

# Types a browser or viewer may show inline; everything else is served as
# application/octet-stream so it is only ever saved, never rendered.
SAFE_INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"file is larger than {limit // (1024 * 1024)} MB")
        self.limit = limit


class EmptyFile(Exception):
    pass


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str


def safe_filename(name: str) -> str:
    """A display name with no path, no control characters, no leading dots."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().lstrip(".").strip()
    if len(name.encode("utf-8")) > 200:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot and len(ext) <= 16 else ""
        base = (stem if dot else name).encode("utf-8")[: 200 - len(ext) - 1]
        name = base.decode("utf-8", "ignore") + ("." + ext if ext else "")
    return name or "file"


def sniff(head: bytes) -> str:
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the end of the sample is still text.
        if exc.start < len(head) - 4:
            return "application/octet-stream"
    return "text/plain" if b"\x00" not in head else "application/octet-stream"


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    async def store_stream(self, chunks: AsyncIterator[bytes], limit: int) -> StoredBlob:
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(limit)
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            if size == 0:
                raise EmptyFile("the file is empty")
            sha = digest.hexdigest()
            final = self.path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                tmp.replace(final)
            return StoredBlob(sha, size, sniff(head))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
