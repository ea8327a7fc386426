"""A minimal "ISV application" with HelpBridge behind its Help menu (PySide6).

LedgerPro (a fictional accounting program) shows one screen per module. Its
Help menu opens HelpBridge:

* "Help on this screen" (F1): a search on the current screen's topic;
* "Contact support...": the new-ticket form;
* "Chat with support": the chat.

Each request carries the host's context (product, version, module, error
code) and the customer's identity, a signed JWT that the vendor backend
issued for the signed-in customer (here: examples/sign_token.py stands in
for that backend call). It goes to ``helpbridge --request-stdin`` as one JSON
line on standard input: a running portal receives it over its local socket
(client/ui/instance.py), otherwise a portal starts. The token is never put
on a command line or in a URL. Everything runs in QProcess: the host's UI
never waits.

    export HELPBRIDGE_IDENTITY_KID=... HELPBRIDGE_IDENTITY_SECRET=...
    python examples/isv_app.py --server http://127.0.0.1:8765 --customer cust-42
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QSplitter,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_open import build_request, portal_command
from sign_token import secret_from_env, sign_identity

PRODUCT = "LedgerPro"
VERSION = "6.2.1"
SCREENS = {
    "Invoicing": "void invoice",
    "Banking": "bank reconciliation",
    "Payroll": "payroll",
    "Reports": "custom report templates",
}


class IsvWindow(QMainWindow):
    """The host application's main window."""

    help_sent = Signal(int, str)
    """A help request was handed over: exit status of helpbridge, its stderr."""

    def __init__(self, server: str, customer: str, name: str = "") -> None:
        super().__init__()
        self.server = server
        self.customer = customer
        self.customer_name = name
        self.last_error_code = ""
        self._processes: list[QProcess] = []
        self.setWindowTitle(f"{PRODUCT} {VERSION}")
        self.resize(720, 420)

        self.screens = QListWidget()
        self.screens.addItems(list(SCREENS))
        self.screens.setCurrentRow(0)
        self.body = QLabel()
        self.screens.currentTextChanged.connect(
            lambda module: self.body.setText(f"{module} screen of {PRODUCT}")
        )
        self.body.setText(f"{self.module} screen of {PRODUCT}")
        splitter = QSplitter()
        splitter.addWidget(self.screens)
        splitter.addWidget(self.body)
        self.setCentralWidget(splitter)

        menu = self.menuBar().addMenu("&Help")
        self.help_action = QAction("Help on this screen", self)
        self.help_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self.help_action.triggered.connect(self.help_on_screen)
        self.ticket_action = QAction("Contact support...", self)
        self.ticket_action.triggered.connect(lambda: self.open_helpbridge(open_view="ticket"))
        self.chat_action = QAction("Chat with support", self)
        self.chat_action.triggered.connect(lambda: self.open_helpbridge(open_view="chat"))
        for action in (self.help_action, self.ticket_action, self.chat_action):
            menu.addAction(action)

    @property
    def module(self) -> str:
        item = self.screens.currentItem()
        return item.text() if item is not None else ""

    def context(self) -> dict[str, str]:
        context = {"product": PRODUCT, "version": VERSION, "module": self.module}
        if self.last_error_code:
            context["error_code"] = self.last_error_code
        return context

    def identity_token(self) -> str:
        """In a real application: ask YOUR backend for a token (HTTPS, off the
        UI thread). Signing here only keeps the example self-contained."""
        kid, secret = secret_from_env()
        return sign_identity(
            secret, kid, sub=self.customer, name=self.customer_name,
            product=PRODUCT, product_version=VERSION,
        )  # fmt: skip

    def help_on_screen(self) -> None:
        self.open_helpbridge(topic=SCREENS.get(self.module, self.module))

    def open_helpbridge(self, *, topic: str = "", open_view: str = "") -> None:
        request = build_request(
            topic=topic, open_view=open_view, context=self.context(),
            identity=self.identity_token(),
        )  # fmt: skip
        program, *args = portal_command()
        proc = QProcess(self)
        proc.setProgram(program)
        proc.setArguments([*args, "--request-stdin", "--server", self.server])
        proc.finished.connect(lambda code, _status, p=proc: self._finished(p, code))
        self._processes.append(proc)
        proc.start()
        proc.write((json.dumps(request, ensure_ascii=False) + "\n").encode("utf-8"))
        proc.closeWriteChannel()

    def _finished(self, proc: QProcess, code: int) -> None:
        error = bytes(proc.readAllStandardError().data()).decode("utf-8", "replace").strip()
        self._processes.remove(proc)
        proc.deleteLater()
        self.help_sent.emit(code, error)
        if code != 0 and self.isVisible():
            QMessageBox.warning(self, "Help", f"HelpBridge could not be opened:\n{error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A host application with HelpBridge help.")
    parser.add_argument("--server", required=True, help="the HelpBridge service URL")
    parser.add_argument("--customer", default="cust-42", help="the signed-in customer's id")
    parser.add_argument("--name", default="Li Wei")
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    window = IsvWindow(args.server, args.customer, args.name)
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
