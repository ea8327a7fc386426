"""The sign-in dialog: service address, e-mail, password.

The address and e-mail are remembered (settings); the password never is. The
dialog stays responsive while the service is asked: the request runs on a
worker (client/ui/tasks.py) and the answer arrives through the Console's
signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from client.agent.session import Console
from client.ui.look import app_icon
from client.ui.settings import normalize_server_url


class SignInDialog(QDialog):
    """Asks for the agent's credentials and signs in through ``console``."""

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.setObjectName("SignInDialog")
        self.setWindowTitle(self.tr("Sign in to HelpBridge"))
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 18)
        layout.setSpacing(12)
        title = QLabel(self.tr("HelpBridge agent console"), self)
        title.setObjectName("PageTitle")
        layout.addWidget(title)
        form = QFormLayout()
        form.setSpacing(10)
        settings = console.settings
        self.server_edit = QLineEdit(settings.server_url, self)
        self.server_edit.setPlaceholderText("https://help.example.com")
        form.addRow(self.tr("Service address:"), self.server_edit)
        self.email_edit = QLineEdit(settings.email, self)
        self.email_edit.setPlaceholderText(self.tr("name@example.com"))
        form.addRow(self.tr("E-mail:"), self.email_edit)
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Password:"), self.password_edit)
        layout.addLayout(form)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("SignInError")
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(self)
        self.sign_in_button = self.buttons.addButton(
            self.tr("Sign in"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_in_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        console.signed_in.connect(self._on_signed_in)
        console.sign_in_failed.connect(self._on_failed)
        self._busy = False
        (self.password_edit if settings.email else self.email_edit).setFocus()

    def accept(self) -> None:
        # Enter in a field: sign in rather than close.
        self.submit()

    def submit(self) -> None:
        if self._busy:
            return
        url = normalize_server_url(self.server_edit.text())
        if url is None:
            self.show_error(self.tr("Enter an address starting with http:// or https://"))
            self.server_edit.setFocus()
            return
        email = self.email_edit.text().strip()
        if "@" not in email:
            self.show_error(self.tr("Enter your e-mail address."))
            self.email_edit.setFocus()
            return
        password = self.password_edit.text()
        if not password:
            self.show_error(self.tr("Enter your password."))
            self.password_edit.setFocus()
            return
        self._set_busy(True)
        self.error_label.hide()
        self.console.sign_in(url, email, password)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.sign_in_button.setEnabled(not busy)
        self.sign_in_button.setText(self.tr("Signing in…") if busy else self.tr("Sign in"))
        for edit in (self.server_edit, self.email_edit, self.password_edit):
            edit.setEnabled(not busy)

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def _on_signed_in(self, _agent: object) -> None:
        # Also when the stored session came back meanwhile (a retry while offline).
        if not self._busy and not self.isVisible():
            return
        self._set_busy(False)
        self.password_edit.clear()
        self.error_label.hide()
        super().accept()

    @property
    def busy(self) -> bool:
        return self._busy

    def _on_failed(self, code: str, message: str) -> None:
        if not self._busy:
            return
        self._set_busy(False)
        if code == "bad_credentials":
            self.password_edit.selectAll()
            self.password_edit.setFocus()
        self.show_error(message)
