"""The pydantic model of ``branding.json`` (client/core/branding.py).

Apart so that the portal imports pydantic for it only when a file exists.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class BrandingColors(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accent: str | None = None

    @field_validator("accent")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None and not _COLOUR.fullmatch(value.strip()):
            raise ValueError("must be a colour like #1d4ed8")
        return value.strip() if value is not None else None


class BrandingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_name: str | None = Field(default=None, min_length=1, max_length=60)
    logo: str | None = Field(default=None, min_length=1, max_length=260)
    colors: BrandingColors | None = None
    service_url: str | None = Field(default=None, max_length=2000)
    language: Literal["zh_CN", "en"] | None = None

    @field_validator("product_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value or any(ch in value for ch in "\r\n\t"):
            raise ValueError("must be one line of text")
        return value

    @field_validator("service_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        value = value.strip()
        try:
            parts = urlsplit(value)
            _ = parts.port
        except ValueError:
            raise ValueError("must be an http or https address") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http or https address")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be a plain address (no user, query or fragment)")
        return value.rstrip("/")
