"""Data files shipped with HelpBridge: icons, translations, the demo knowledge base."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
ICONS = ROOT / "icons"
TRANSLATIONS = ROOT / "translations"
KB = ROOT / "kb"
