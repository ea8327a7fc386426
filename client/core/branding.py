"""White-label configuration: the vendor's name, logo, colours, service and language.

A vendor ships ``branding.json`` next to the portal's executable (the one-dir
bundle's folder, or the installer's program folder)::

    {
      "product_name": "LedgerPro Help",
      "logo": "ledgerpro.svg",
      "colors": {"accent": "#0f766e"},
      "service_url": "https://help.ledgerpro.example",
      "language": "zh_CN"
    }

Every key is optional; ``logo`` is relative to the file's folder (SVG or
PNG). Where the file is looked for, first found wins:

1. the path in ``$HELPBRIDGE_BRANDING`` (development runs, tests, a
   deployment that keeps it elsewhere);
2. next to the executable when frozen (``sys.executable``'s folder);
3. next to the source tree's packages (a development checkout).

A file that cannot be used (not JSON, unknown keys, a colour that is not
``#rrggbb``, a logo that does not exist...) never stops the portal: the
defaults are used and :attr:`BrandingResult.problem` says what was wrong,
for the log and stderr.

Qt-free: the portal applies it (client/ui/look.py, client/ui/app.py).
Reading without a file imports nothing heavy, so start-up stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT",
    "ENV_BRANDING",
    "FILE_NAME",
    "Branding",
    "BrandingError",
    "BrandingResult",
    "candidate_paths",
    "load_branding",
    "parse_branding",
]

ENV_BRANDING = "HELPBRIDGE_BRANDING"
FILE_NAME = "branding.json"
MAX_FILE_BYTES = 64 * 1024
LOGO_SUFFIXES = (".svg", ".png")


@dataclass(frozen=True)
class Branding:
    """What the portal shows as the vendor's."""

    product_name: str = "HelpBridge"
    logo: Path | None = None
    """An SVG or PNG file; None: the HelpBridge icon."""
    accent: str = "#1d4ed8"
    """``#rrggbb``: links, the selected tab, default buttons, focus rings."""
    service_url: str | None = None
    """The service used when neither ``--server`` nor the settings name one."""
    language: str | None = None
    """``zh_CN`` or ``en``: used when neither ``--lang`` nor the settings choose."""
    source: Path | None = field(default=None, compare=False)
    """The file this came from; None for the defaults."""


DEFAULT = Branding()


class BrandingError(ValueError):
    """A branding file is unusable; the message says why."""


@dataclass(frozen=True)
class BrandingResult:
    branding: Branding
    problem: str | None = None
    """Why a file that was found is not used (the defaults are used instead)."""


def candidate_paths() -> list[Path]:
    """Where a branding file is looked for, in order."""
    paths: list[Path] = []
    override = os.environ.get(ENV_BRANDING, "").strip()
    if override:
        paths.append(Path(override).expanduser())
    if getattr(sys, "frozen", False):
        paths.append(Path(sys.executable).resolve().parent / FILE_NAME)
    else:
        paths.append(Path(__file__).resolve().parents[2] / FILE_NAME)
    return paths


def load_branding(paths: list[Path] | None = None) -> BrandingResult:
    """The branding to use: from the first file found, else the defaults.

    An explicitly named file (``$HELPBRIDGE_BRANDING``) that does not exist is
    reported as a problem; a missing file next to the program is just the
    unbranded default.
    """
    explicit = os.environ.get(ENV_BRANDING, "").strip() if paths is None else ""
    for index, path in enumerate(paths if paths is not None else candidate_paths()):
        if not path.is_file():
            if index == 0 and explicit:
                return BrandingResult(DEFAULT, f"{ENV_BRANDING} names {path}, which is not a file")
            continue
        try:
            return BrandingResult(read_branding(path))
        except BrandingError as exc:
            return BrandingResult(DEFAULT, f"{path}: {exc}; using the default look")
    return BrandingResult(DEFAULT)


def read_branding(path: Path) -> Branding:
    """Parse one branding file; :class:`BrandingError` when it is unusable."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BrandingError(f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise BrandingError(f"is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BrandingError("is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BrandingError(f"is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_branding(data, base_dir=path.parent, source=path)


def parse_branding(data: Any, *, base_dir: Path, source: Path | None = None) -> Branding:
    """Validate decoded JSON; relative logo paths are taken from ``base_dir``."""
    from pydantic import ValidationError

    from client.core._branding_model import BrandingFile

    try:
        model = BrandingFile.model_validate(data)
    except ValidationError as exc:
        raise BrandingError(_describe(exc)) from None
    logo: Path | None = None
    if model.logo is not None:
        logo = (base_dir / model.logo).resolve()
        if logo.suffix.lower() not in LOGO_SUFFIXES:
            raise BrandingError(f"logo {model.logo!r} must be an .svg or .png file")
        if not logo.is_file():
            raise BrandingError(f"logo {model.logo!r} was not found in {base_dir}")
    accent = model.colors.accent if model.colors and model.colors.accent else DEFAULT.accent
    return Branding(
        product_name=model.product_name or DEFAULT.product_name,
        logo=logo,
        accent=accent.lower(),
        service_url=model.service_url,
        language=model.language,
        source=source,
    )


def _describe(exc: Any) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "the file"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
