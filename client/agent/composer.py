"""The reply box shared by tickets and chats.

* A plain-text editor (what the agent types is sent as typed) with
  Ctrl+Enter to send. Typing ``/`` and a canned reply's shortcut offers the
  matching replies; Enter, Tab or a click inserts one, and ``/shortcut``
  followed by a space expands at once.
* "Internal note": the same box writes a note only agents see; the box turns
  yellow and the button says so, so a note is never sent by mistake.
* Files: added with a file dialog, shown as removable chips; uploaded by the
  owner of the box when sending.
* Knowledge search as you type (250 ms after the last key): pick a result,
  then insert its link (``helpbridge://article/ID``, which the portal opens)
  or its text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.agent import canned
from client.agent.canned_ui import CannedEditor, CannedLibrary
from client.agent.session import Console
from client.agent.texts import exception_message
from client.ui.highlight import highlight_html
from client.ui.look import icon
from client.ui.widgets import HTML_ROLE, ID_ROLE, TITLE_ROLE, ResultList

if TYPE_CHECKING:
    from protocol.models import Article, SearchResults

log = logging.getLogger(__name__)

KB_DEBOUNCE_MS = 250
SHORTCUT_ROLE = Qt.ItemDataRole.UserRole + 10
ARTICLE_LINK = "helpbridge://article/{id}"
MAX_REPLY_CHARS = 50_000


def article_link(article_id: int) -> str:
    return ARTICLE_LINK.format(id=int(article_id))


class ReplyEdit(QPlainTextEdit):
    """Plain-text reply editor with ``/shortcut`` canned-reply completion.

    Signals:
        send_shortcut(): Ctrl+Enter was pressed.
    """

    send_shortcut = Signal()

    def __init__(self, library: CannedLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReplyEdit")
        self.library = library
        self._model = QStandardItemModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionRole(SHORTCUT_ROLE)
        # Completion role is the shortcut, so activated(str) carries it.
        self.completer.activated.connect(self._complete_shortcut)
        library.changed.connect(self._rebuild_model)
        self._rebuild_model()

    def _rebuild_model(self) -> None:
        self._model.clear()
        for reply in self.library.replies:
            item = QStandardItem(f"/{reply.shortcut}  —  {reply.title}")
            item.setData(reply.shortcut, SHORTCUT_ROLE)
            item.setToolTip(reply.text[:300])
            self._model.appendRow(item)

    def slash_word(self) -> str | None:
        """The ``/word`` just before the cursor, or None."""
        cursor = self.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        start = max(block.rfind(" "), block.rfind("\t")) + 1
        word = block[start:]
        if word.startswith("/") and (len(word) == 1 or canned.SHORTCUT.match(word[1:])):
            return word
        return None

    def insert_canned(self, reply: canned.CannedReply, *, replace_word: str | None = None) -> None:
        cursor = self.textCursor()
        if replace_word:
            for _ in range(len(replace_word)):
                cursor.deletePreviousChar()
        cursor.insertText(reply.text)
        self.setTextCursor(cursor)
        self.popup().hide()

    def popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # QCompleter always makes one
        return popup

    def _complete_shortcut(self, shortcut: str) -> None:
        reply = canned.find(self.library.replies, shortcut)
        if reply is not None:
            self.insert_canned(reply, replace_word=self.slash_word())

    def _complete_index(self, index: QModelIndex) -> None:
        self._complete_shortcut(str(index.data(SHORTCUT_ROLE) or ""))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self.popup()
        key = event.key()
        if popup.isVisible() and key in (
            Qt.Key.Key_Enter,
            Qt.Key.Key_Return,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
        ):
            # The completer's own event filter picks (Enter) or closes (Esc).
            event.ignore()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.send_shortcut.emit()
            event.accept()
            return
        if key == Qt.Key.Key_Space:
            word = self.slash_word()
            reply = canned.find(self.library.replies, word[1:]) if word and len(word) > 1 else None
            if reply is not None and word is not None:
                self.insert_canned(reply, replace_word=word)
                event.accept()
                return
        super().keyPressEvent(event)
        self._update_completion()

    def _update_completion(self) -> None:
        word = self.slash_word()
        popup = self.popup()
        if word is None:
            popup.hide()
            return
        self.completer.setCompletionPrefix(word[1:])
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        rect = self.cursorRect()
        rect.setWidth(
            popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 16
        )
        self.completer.complete(rect)
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))


class FileChip(QToolButton):
    """One attached file; clicking removes it."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setObjectName("FileChip")
        self.setText(f"📎 {path.name}  ✕")
        self.setToolTip(self.tr("Remove %1").replace("%1", path.name))


class ReplyComposer(QFrame):
    """Reply editor, internal-note toggle, files, canned replies and knowledge search.

    Signals:
        send_requested(str, bool, list): (text, internal, file paths).
    """

    send_requested = Signal(str, bool, list)

    def __init__(
        self,
        console: Console,
        library: CannedLibrary,
        parent: QWidget | None = None,
        *,
        kb_key: str = "kb",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        self.console = console
        self.library = library
        self.kb_key = kb_key
        self.files: list[Path] = []
        self._busy = False
        self._article_cache: dict[int, Article] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(6)

        tools = QHBoxLayout()
        tools.setSpacing(6)
        self.internal_button = QToolButton(self)
        self.internal_button.setObjectName("InternalToggle")
        self.internal_button.setCheckable(True)
        self.internal_button.setText(self.tr("Internal note"))
        self.internal_button.setToolTip(self.tr("Write a note only agents can see"))
        self.internal_button.toggled.connect(self._on_internal)
        tools.addWidget(self.internal_button)
        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("AttachButton")
        self.attach_button.setText(self.tr("Attach file…"))
        self.attach_button.setIcon(icon("folder"))
        self.attach_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.attach_button.clicked.connect(self.choose_files)
        tools.addWidget(self.attach_button)
        self.canned_button = QToolButton(self)
        self.canned_button.setObjectName("CannedButton")
        self.canned_button.setText(self.tr("Canned replies"))
        self.canned_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.canned_menu = QMenu(self.canned_button)
        self.canned_button.setMenu(self.canned_menu)
        self.canned_menu.aboutToShow.connect(self._fill_canned_menu)
        tools.addWidget(self.canned_button)
        tools.addStretch(1)
        self.kb_edit = QLineEdit(self)
        self.kb_edit.setObjectName("KbSearch")
        self.kb_edit.setPlaceholderText(self.tr("Search knowledge base…"))
        self.kb_edit.setClearButtonEnabled(True)
        self.kb_edit.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.kb_edit.setMinimumWidth(240)
        self.kb_edit.textChanged.connect(self._on_kb_text)
        tools.addWidget(self.kb_edit)
        layout.addLayout(tools)

        self.kb_panel = QFrame(self)
        self.kb_panel.setObjectName("KbPanel")
        kb_layout = QVBoxLayout(self.kb_panel)
        kb_layout.setContentsMargins(0, 0, 0, 0)
        kb_layout.setSpacing(4)
        self.kb_status = QLabel(self.kb_panel)
        self.kb_status.setObjectName("Hint")
        kb_layout.addWidget(self.kb_status)
        self.kb_results = ResultList(self.kb_panel)
        self.kb_results.setMaximumHeight(170)
        self.kb_results.itemDoubleClicked.connect(lambda _item: self.insert_article_link())
        self.kb_results.currentItemChanged.connect(lambda *_: self._update_kb_buttons())
        kb_layout.addWidget(self.kb_results)
        kb_buttons = QHBoxLayout()
        self.insert_link_button = QPushButton(self.tr("Insert link"), self.kb_panel)
        self.insert_link_button.clicked.connect(self.insert_article_link)
        self.insert_text_button = QPushButton(self.tr("Insert text"), self.kb_panel)
        self.insert_text_button.clicked.connect(self.insert_article_text)
        kb_buttons.addWidget(self.insert_link_button)
        kb_buttons.addWidget(self.insert_text_button)
        kb_buttons.addStretch(1)
        kb_layout.addLayout(kb_buttons)
        self.kb_panel.hide()
        layout.addWidget(self.kb_panel)
        self._kb_timer = QTimer(self)
        self._kb_timer.setSingleShot(True)
        self._kb_timer.setInterval(KB_DEBOUNCE_MS)
        self._kb_timer.timeout.connect(self.search_kb)

        self.edit = ReplyEdit(library, self)
        self.edit.setPlaceholderText(
            self.tr("Write a reply… (/ for canned replies, Ctrl+Enter to send)")
        )
        self.edit.setMinimumHeight(90)
        self.edit.send_shortcut.connect(self.submit)
        layout.addWidget(self.edit, 1)

        bottom = QHBoxLayout()
        self.files_row = QHBoxLayout()
        self.files_row.setSpacing(4)
        bottom.addLayout(self.files_row)
        bottom.addStretch(1)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("ComposerError")
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.error_label.hide()
        bottom.addWidget(self.error_label, 2)
        self.send_button = QPushButton(self.tr("Send reply"), self)
        self.send_button.setObjectName("SendButton")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.submit)
        bottom.addWidget(self.send_button)
        layout.addLayout(bottom)
        QShortcut(QKeySequence("Ctrl+K"), self, self.kb_edit.setFocus)
        self._update_kb_buttons()

    # -- internal notes ------------------------------------------------------

    @property
    def internal(self) -> bool:
        return self.internal_button.isChecked()

    def _on_internal(self, on: bool) -> None:
        self.setProperty("internal", "true" if on else "false")
        self.style().unpolish(self)
        self.style().polish(self)
        self.send_button.setText(self.tr("Add note") if on else self.tr("Send reply"))
        self.edit.setPlaceholderText(
            self.tr("Internal note — only agents see it")
            if on
            else self.tr("Write a reply… (/ for canned replies, Ctrl+Enter to send)")
        )

    # -- canned replies --------------------------------------------------------

    def _fill_canned_menu(self) -> None:
        self.canned_menu.clear()
        for reply in self.library.replies:
            action = self.canned_menu.addAction(f"{reply.title}   /{reply.shortcut}")
            action.setToolTip(reply.text[:300])
            action.triggered.connect(lambda _=False, r=reply: self.edit.insert_canned(r))
        if self.library.replies:
            self.canned_menu.addSeparator()
        edit = self.canned_menu.addAction(self.tr("Edit canned replies…"))
        edit.triggered.connect(self.edit_canned)

    def edit_canned(self) -> None:
        dialog = CannedEditor(self.library.replies, self)
        dialog.setObjectName("CannedEditor")

        def finished(result: int) -> None:
            if result:
                self.library.set_replies(dialog.replies())

        dialog.finished.connect(finished)
        dialog.open()

    # -- files -----------------------------------------------------------------

    def choose_files(self) -> None:
        dialog = QFileDialog(self, self.tr("Attach files"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda names: self.add_files([Path(n) for n in names]))
        dialog.open()

    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            if path in self.files:
                continue
            self.files.append(path)
            chip = FileChip(path, self)
            chip.clicked.connect(lambda _=False, c=chip: self.remove_file(c))
            self.files_row.addWidget(chip)

    def remove_file(self, chip: FileChip) -> None:
        if chip.path in self.files:
            self.files.remove(chip.path)
        chip.deleteLater()

    def _clear_files(self) -> None:
        self.files.clear()
        while self.files_row.count():
            item = self.files_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    # -- knowledge search ------------------------------------------------------

    def _on_kb_text(self, text: str) -> None:
        if text.strip():
            self._kb_timer.start()
        else:
            self._kb_timer.stop()
            self.console.runner.supersede(self.kb_key)
            self.kb_results.clear()
            self.kb_panel.hide()

    def search_kb(self) -> None:
        query = self.kb_edit.text().strip()
        if not query:
            return
        self.kb_panel.show()
        self.kb_status.setText(self.tr("Searching…"))
        self.console.call(
            lambda api: api.search(query, per_page=6),
            lambda results: self._show_kb(query, results),
            lambda exc: self.kb_status.setText(exception_message(exc)),
            latest=self.kb_key,
        )

    def _show_kb(self, query: str, results: SearchResults) -> None:
        if query != self.kb_edit.text().strip():
            return
        self.kb_results.clear()
        for hit in results.results:
            item = QListWidgetItem()
            title = highlight_html(hit.title, hit.title_highlights)
            snippet = highlight_html(hit.snippet, hit.snippet_highlights)
            item.setData(
                HTML_ROLE,
                f"<b>{title}</b><br><span style='color:#6b7280;'>{snippet}</span>",
            )
            item.setData(ID_ROLE, hit.id)
            item.setData(TITLE_ROLE, hit.title)
            self.kb_results.addItem(item)
        if results.results:
            self.kb_status.setText(self.tr("%n article(s) found", "", results.total))
            self.kb_results.setCurrentRow(0)
        else:
            self.kb_status.setText(self.tr("No article matches."))
        self._update_kb_buttons()

    def _update_kb_buttons(self) -> None:
        has = self.kb_results.currentItem() is not None
        self.insert_link_button.setEnabled(has)
        self.insert_text_button.setEnabled(has)

    def _current_article(self) -> tuple[int, str] | None:
        item = self.kb_results.currentItem()
        if item is None:
            return None
        return int(item.data(ID_ROLE)), str(item.data(TITLE_ROLE) or "")

    def insert_article_link(self) -> None:
        current = self._current_article()
        if current is None:
            return
        article_id, title = current
        self.insert_text(f"{title}: {article_link(article_id)}")

    def insert_article_text(self) -> None:
        current = self._current_article()
        if current is None:
            return
        article_id = current[0]
        cached = self._article_cache.get(article_id)
        if cached is not None:
            self.insert_text(cached.body.strip())
            return
        self.kb_status.setText(self.tr("Loading the article…"))

        def done(article: Article) -> None:
            self._article_cache[article_id] = article
            self.kb_status.setText("")
            self.insert_text(article.body.strip())

        self.console.call(
            lambda api: api.article(article_id),
            done,
            lambda exc: self.kb_status.setText(exception_message(exc)),
        )

    def insert_text(self, text: str) -> None:
        cursor = self.edit.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        if before.strip():
            text = "\n" + text
        cursor.insertText(text)
        self.edit.setTextCursor(cursor)
        self.edit.setFocus()

    # -- sending ---------------------------------------------------------------

    def text(self) -> str:
        return self.edit.toPlainText()

    def submit(self) -> None:
        if self._busy:
            return
        text = self.text()
        if not text.strip() and not self.files:
            self.show_error(self.tr("Write something or attach a file first."))
            return
        if len(text) > MAX_REPLY_CHARS:
            self.show_error(
                self.tr("The reply is too long (at most %1 characters).").replace(
                    "%1", str(MAX_REPLY_CHARS)
                )
            )
            return
        self.error_label.hide()
        self.set_busy(True)
        self.send_requested.emit(text, self.internal, list(self.files))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.send_button.setEnabled(not busy)
        self.edit.setReadOnly(busy)

    def sent(self) -> None:
        """The reply was stored: start a fresh one (an internal note stays a note)."""
        self.set_busy(False)
        self.edit.clear()
        self._clear_files()
        self.error_label.hide()

    def failed(self, message: str) -> None:
        """Sending failed: keep everything as it was and say why."""
        self.set_busy(False)
        self.show_error(message)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def set_enabled_for(self, open_: bool, reason: str = "") -> None:
        """Disable replying (e.g. a closed ticket) with the reason as a hint."""
        self.edit.setEnabled(open_)
        self.send_button.setEnabled(open_ and not self._busy)
        self.attach_button.setEnabled(open_)
        if not open_ and reason:
            self.edit.setPlaceholderText(reason)
