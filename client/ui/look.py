"""The portal's look: icons from ``resources/icons`` and one light stylesheet.

Colours are few and named here so widgets refer to roles (``objectName`` and
dynamic properties such as ``kind``), not to literal colours.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QFont, QIcon
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from client.core.branding import Branding

ACCENT = "#1d4ed8"
TEXT = "#111827"
MUTED = "#6b7280"
BORDER = "#e5e7eb"
WINDOW = "#f6f7fb"

# Fonts tried in order for Chinese text; the first installed one is added as
# a fallback family so CJK glyphs never fall back to boxes.
CJK_FONTS = (
    "Microsoft YaHei UI",
    "PingFang SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
)


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as a QIcon (empty icon if missing)."""
    from resources import ICONS

    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


_branding: Branding | None = None


def set_branding(branding: Branding | None) -> None:
    """Use a vendor's name and logo (client/core/branding.py) from now on."""
    global _branding
    _branding = branding


def product_name() -> str:
    """The name shown in titles: the vendor's product name, or HelpBridge."""
    return _branding.product_name if _branding is not None else "HelpBridge"


def app_icon() -> QIcon:
    """The vendor's logo when branded, else the HelpBridge icon."""
    if _branding is not None and _branding.logo is not None:
        logo = QIcon(str(_branding.logo))
        if not logo.isNull():
            return logo
    return icon("helpbridge")


def _tint(colour: str, white: float) -> str:
    """``colour`` mixed with ``white`` parts of white (0..1), as #rrggbb."""
    c = QColor(colour)
    mix = [round(v + (255 - v) * white) for v in (c.red(), c.green(), c.blue())]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def stylesheet(accent: str = ACCENT) -> str:
    """The portal's stylesheet with ``accent`` (and tints of it) as the accent."""
    if accent.lower() == ACCENT:
        return STYLESHEET
    return (
        STYLESHEET.replace(ACCENT, accent)
        .replace("#e0e7ff", _tint(accent, 0.85))
        .replace("#eef2ff", _tint(accent, 0.92))
        .replace("#c7d2fe", _tint(accent, 0.72))
    )


STYLESHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
QDialog QComboBox::drop-down {{ border: none; width: 24px; }}
QDialog QLineEdit, QDialog QComboBox {{
    padding: 5px 8px; border: 1px solid #d1d5db; border-radius: 6px; background: #ffffff;
}}
QWidget {{ color: {TEXT}; }}
QToolTip {{ color: {TEXT}; background: #ffffff; border: 1px solid {BORDER}; padding: 4px; }}

#Header {{ background: #ffffff; border-bottom: 1px solid {BORDER}; }}
#AppTitle {{ font-size: 17px; font-weight: 700; color: {TEXT}; }}
#CustomerName {{ font-weight: 700; }}
#CustomerCompany {{ color: {MUTED}; }}
#TierBadge {{
    border-radius: 8px; padding: 1px 8px; font-size: 11px; font-weight: 700;
    color: #374151; background: #e5e7eb;
}}
#TierBadge[tier="vip"] {{ color: #92400e; background: #fde68a; }}
#TierBadge[tier="svip"] {{ color: #ffffff; background: #7c3aed; }}

#Status {{ color: {MUTED}; padding: 2px 10px; border-radius: 10px; background: #f3f4f6; }}
#Status[state="online"] {{ color: #047857; background: #d1fae5; }}
#Status[state="offline"] {{ color: #92400e; background: #fef3c7; }}

QTabBar#Sections::tab {{
    padding: 6px 14px; margin-right: 2px; border: none; color: {MUTED};
    border-bottom: 2px solid transparent; font-weight: 500;
}}
QTabBar#Sections::tab:selected {{ color: {ACCENT}; border-bottom: 2px solid {ACCENT}; }}
QTabBar#Sections::tab:disabled {{ color: #b6bcc6; }}

QLineEdit#SearchBox {{
    font-size: 15px; padding: 9px 12px; border: 1px solid #d1d5db; border-radius: 10px;
    background: #ffffff;
}}
QLineEdit#SearchBox:focus {{ border: 1px solid {ACCENT}; }}

#Panel {{ background: #ffffff; border: 1px solid {BORDER}; border-radius: 10px; }}
#PanelTitle {{ color: {MUTED}; font-size: 12px; font-weight: 700; }}
#PageTitle {{ font-size: 16px; font-weight: 700; }}
#Hint {{ color: {MUTED}; }}
#WelcomeTitle {{ font-size: 22px; font-weight: 700; }}

QListWidget {{ border: none; background: transparent; outline: none; }}
QListWidget#Categories::item {{ padding: 7px 8px; border-radius: 6px; }}
QListWidget#Categories::item:selected {{ background: #e0e7ff; color: {ACCENT}; }}
QListWidget#Categories::item:hover:!selected {{ background: #f3f4f6; }}
QListWidget#Results::item {{ border-bottom: 1px solid #f0f1f4; }}
QListWidget#Results::item:selected {{ background: #eef2ff; }}
QListWidget#Results::item:hover:!selected {{ background: #f9fafb; }}

QTextBrowser#ArticleBody {{ border: none; background: #ffffff; }}
#ArticleTitle {{ font-size: 21px; font-weight: 700; }}
#ArticleMeta {{ color: {MUTED}; }}

#FilterChip {{
    background: #e0e7ff; color: {ACCENT}; border: none; border-radius: 12px;
    padding: 3px 10px;
}}
#FilterChip:hover {{ background: #c7d2fe; }}

QPushButton {{
    padding: 6px 14px; border-radius: 8px; border: 1px solid #d1d5db; background: #ffffff;
}}
QPushButton:hover {{ background: #f3f4f6; }}
QPushButton:default {{ background: {ACCENT}; color: #ffffff; border: 1px solid {ACCENT}; }}
QToolButton {{ border: none; padding: 4px; border-radius: 6px; }}
QToolButton:hover {{ background: #eef0f4; }}
QToolButton#BackButton {{ color: {ACCENT}; font-weight: 700; padding: 4px 8px; }}

QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: #cbd5e1; border-radius: 3px; min-height: 32px; }}
QScrollBar::handle:horizontal {{ background: #cbd5e1; border-radius: 3px; min-width: 32px; }}
QScrollBar::handle:hover {{ background: #94a3b8; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}

#Banner {{ border-radius: 8px; border: 1px solid #bfdbfe; background: #eff6ff; }}
#Banner[kind="warning"] {{ border: 1px solid #fcd34d; background: #fffbeb; }}
#Banner[kind="error"] {{ border: 1px solid #fca5a5; background: #fef2f2; }}
#BannerText {{ background: transparent; }}
"""


def apply_look(app: QApplication, locale: str, accent: str = ACCENT) -> None:
    """Install the stylesheet (with ``accent``) and a readable default font for ``locale``."""
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    if locale.startswith("zh"):
        from PySide6.QtGui import QFontDatabase

        families = set(QFontDatabase.families())
        fallbacks = [f for f in CJK_FONTS if f in families]
        if fallbacks:
            font.setFamilies([font.family(), *fallbacks])
    app.setFont(font)
    app.setStyleSheet(stylesheet(accent))
