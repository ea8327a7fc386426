"""Portal settings (QSettings, organisation "HelpBridge") and the settings dialog.

With ``HELPBRIDGE_DATA_DIR`` set (tests, portable installs, the demo) the
settings live in ``settings.ini`` inside that directory, so such a run never
reads or changes the user's real settings.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

ORGANIZATION = "HelpBridge"
APPLICATION = "helpbridge"
DEFAULT_SERVER_URL = "http://127.0.0.1:8765"
LANGUAGES = ("system", "zh_CN", "en")


def open_qsettings() -> QSettings:
    if os.environ.get("HELPBRIDGE_DATA_DIR", "").strip():
        from client.core.paths import data_dir

        return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def normalize_server_url(url: str) -> str | None:
    """``url`` without trailing slash if it is a usable http(s) URL, else None."""
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    return url.rstrip("/")


class PortalSettings:
    """Typed access to the few stored settings."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else open_qsettings()

    @property
    def server_url(self) -> str:
        value = self.store.value("server/url", "")
        return normalize_server_url(str(value or "")) or DEFAULT_SERVER_URL

    @server_url.setter
    def server_url(self, url: str) -> None:
        self.store.setValue("server/url", url)

    @property
    def language(self) -> str:
        value = str(self.store.value("ui/language", "system") or "system")
        return value if value in LANGUAGES else "system"

    @language.setter
    def language(self, value: str) -> None:
        self.store.setValue("ui/language", value if value in LANGUAGES else "system")

    @property
    def tray_message_shown(self) -> bool:
        return str(self.store.value("ui/tray_message_shown", "false")).lower() == "true"

    @tray_message_shown.setter
    def tray_message_shown(self, shown: bool) -> None:
        self.store.setValue("ui/tray_message_shown", "true" if shown else "false")

    def sync(self) -> None:
        self.store.sync()


class SettingsDialog(QDialog):
    """Server address and language. The caller applies the result."""

    def __init__(self, server_url: str, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        form = QFormLayout()
        form.setSpacing(10)
        self.server_edit = QLineEdit(server_url, self)
        self.server_edit.setPlaceholderText(DEFAULT_SERVER_URL)
        self.server_edit.textChanged.connect(self._validate)
        form.addRow(self.tr("Help service address:"), self.server_edit)
        self.language_combo = QComboBox(self)
        # Language names are shown in their own language on purpose.
        self.language_combo.addItem(self.tr("System language"), "system")
        self.language_combo.addItem("中文（简体）", "zh_CN")
        self.language_combo.addItem("English", "en")
        index = self.language_combo.findData(language if language in LANGUAGES else "system")
        self.language_combo.setCurrentIndex(max(0, index))
        form.addRow(self.tr("Language:"), self.language_combo)
        layout.addLayout(form)
        note = QLabel(self.tr("A new language is used the next time HelpBridge starts."), self)
        note.setObjectName("Hint")
        note.setWordWrap(True)
        layout.addWidget(note)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _validate(self) -> bool:
        ok = normalize_server_url(self.server_edit.text()) is not None
        self.error_label.setVisible(not ok)
        self.error_label.setText(
            "" if ok else self.tr("Enter an address starting with http:// or https://")
        )
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok_button is not None:
            ok_button.setEnabled(ok)
        return ok

    def accept(self) -> None:
        if self._validate():
            super().accept()

    def server_url(self) -> str:
        return normalize_server_url(self.server_edit.text()) or DEFAULT_SERVER_URL

    def language(self) -> str:
        return str(self.language_combo.currentData())
