"""The new-ticket form.

Live help first: while the subject is typed, matching articles are searched
(debounced, through the portal's normal search and offline cache) and shown
under it; opening one and answering "Did this solve it?" is logged, so
deflection can be measured (``ticket deflection ...`` lines).

Nothing typed is lost: the draft (fields and attachments; pasted images are
written next to it) is saved on the serial worker a few seconds after a
change, and at once when the form closes or the portal quits; it comes back
the next time the form opens, and is cleared once the ticket is in the outbox.

Submitting hands everything to the customer's outbox on a worker (files are
copied, the diagnostic bundle is built); the outbox sends it when it can.
Ctrl+Enter submits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from client.ui.errors import exception_code, ticket_error_message, ticket_failure_message
from client.ui.tickets import text as tt
from client.ui.tickets.files import PendingFile
from client.ui.tickets.widgets import (
    AttachmentBox,
    Chip,
    FlowLayout,
    clear_layout,
    is_submit_key,
    plain_label,
    repolish,
)

if TYPE_CHECKING:
    from client.core.diagnostics import DiagnosticItem
    from client.core.outbox import OutboxItem
    from client.ui.portal import Fetched, Portal
    from client.ui.tickets.draft import TicketDraft
    from client.ui.tickets.review import DiagnosticsDialog
    from client.ui.tickets.service import DiagnosticsRequest, TicketService
    from protocol.models import CategoryList, SearchResults

log = logging.getLogger(__name__)

SUGGEST_DEBOUNCE_MS = 400
SUGGESTIONS = 4
AUTOSAVE_MS = 3000
MAX_SUBJECT = 200
MAX_BODY = 50_000
OTHER_CATEGORY = "Other"
"""Sent as the category when the customer picks "Other" (agents read English)."""

CONTEXT_ORDER = ("product", "version", "module", "error_code")


_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\s\u3400-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EDGE_PUNCT = "\"'.,;:!?()[]{}<>“”‘’「」（），。；：！？、"


def suggestion_words(text: str) -> list[str]:
    """The words of a subject: Latin words as typed, runs of Chinese cut
    into two-character pieces (most Chinese words are two characters)."""
    words: list[str] = []
    for token in _WORD.findall(text):
        if _CJK.match(token):
            if len(token) <= 2:
                words.append(token)
                continue
            pieces = [token[i : i + 2] for i in range(0, len(token), 2)]
            words.extend(p for p in pieces if len(p) == 2)
        else:
            word = token.strip(_EDGE_PUNCT)
            if len(word) >= 2:
                words.append(word)
    return words


def suggestion_queries(subject: str) -> list[str]:
    """What to search for articles matching a subject, most precise first.

    A subject is a sentence, and the search finds articles holding every
    word; so when the whole subject finds nothing, fewer words are tried:
    all words, then without the last, then the first two.
    """
    words = suggestion_words(subject)
    candidates = [subject.strip(), " ".join(words)]
    if len(words) > 2:
        candidates.append(" ".join(words[:-1]))
    if len(words) > 3:
        candidates.append(" ".join(words[:2]))
    found: list[str] = []
    for query in candidates:
        if query and query not in found:
            found.append(query)
    return found


def context_label(key: str) -> str:
    names = {
        "product": QCoreApplication.translate("Tickets", "Product"),
        "version": QCoreApplication.translate("Tickets", "Version"),
        "module": QCoreApplication.translate("Tickets", "Module"),
        "error_code": QCoreApplication.translate("Tickets", "Error code"),
    }
    return names.get(key, key)


def ordered_context(context: dict[str, str]) -> list[tuple[str, str]]:
    known = [(k, context[k]) for k in CONTEXT_ORDER if context.get(k)]
    rest = sorted((k, v) for k, v in context.items() if k not in CONTEXT_ORDER and v)
    return known + rest


class DescriptionEdit(QPlainTextEdit):
    """The description box: grows into the room left, but does not ask for
    much (the scroll area sizes the form by the preferred heights)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), 96)


class TicketForm(QWidget):
    """Write a new ticket.

    Signals:
        submitted(object): the OutboxItem of the ticket just queued.
        closed(): the customer left the form (the draft is kept).
        article_requested(int): open this knowledge article.
        deflected(int): the customer said this article solved the problem.
    """

    submitted = Signal(object)
    closed = Signal()
    article_requested = Signal(int)
    deflected = Signal(int)

    def __init__(
        self,
        service: TicketService,
        portal: Portal,
        parent: QWidget | None = None,
        *,
        settings_dump: Callable[[], dict[str, str]] = dict,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TicketForm")
        self.service = service
        self.portal = portal
        self.settings_dump = settings_dump
        self.context: dict[str, str] = {}
        self.confirm: Callable[[str, str], bool] = self._ask
        self._dirty = False
        self._seq = 0
        self._loading = False
        self._submitting = False
        self._restored = False
        self._diag_items: list[DiagnosticItem] | None = None
        self._suggested: list[tuple[int, str]] = []
        self._opened_article: tuple[int, str] | None = None
        self._last_suggest = ""
        self._categories_loaded = False
        self.review_dialog: DiagnosticsDialog | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll, 1)
        body = QWidget(scroll)
        body.setObjectName("FormBody")
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(22, 16, 22, 12)
        layout.setSpacing(8)

        title_row = QHBoxLayout()
        title_row.setSpacing(12)
        title_row.addWidget(plain_label(self.tr("New ticket"), body, "TicketsTitle"))
        intro = plain_label(
            self.tr("We reply here and let you know when we do."), body, "FieldHint"
        )
        title_row.addWidget(intro, 1, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(title_row)

        self.context_host = QWidget(body)
        context_row = QHBoxLayout(self.context_host)
        context_row.setContentsMargins(0, 2, 0, 2)
        context_row.addWidget(
            plain_label(self.tr("From your application:"), self.context_host, "FieldHint")
        )
        self.context_chips = QWidget(self.context_host)
        self.context_layout = FlowLayout(self.context_chips)
        context_row.addWidget(self.context_chips, 1)
        self.context_host.hide()
        layout.addWidget(self.context_host)

        subject_label = plain_label(self.tr("&Subject"), body, "FormLabel")
        layout.addWidget(subject_label)
        self.subject = QLineEdit(body)
        self.subject.setObjectName("SubjectEdit")
        self.subject.setMaxLength(MAX_SUBJECT)
        self.subject.setPlaceholderText(
            self.tr("A few words about the problem, e.g. “Invoice will not print”")
        )
        self.subject.setAccessibleName(self.tr("Subject"))
        subject_label.setBuddy(self.subject)  # Alt+S
        self.subject.textChanged.connect(self._on_subject_changed)
        layout.addWidget(self.subject)
        layout.addWidget(self._build_suggestions(body))

        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(4)
        grid.addWidget(plain_label(self.tr("Category"), body, "FormLabel"), 0, 0)
        grid.addWidget(plain_label(self.tr("Urgency"), body, "FormLabel"), 0, 1)
        grid.addWidget(plain_label(self.tr("Impact"), body, "FormLabel"), 0, 2)
        self.category = QComboBox(body)
        self.category.setObjectName("FormCombo")
        self.category.setPlaceholderText(self.tr("Choose…"))
        self.category.addItem(self.tr("Other"), OTHER_CATEGORY)
        self.category.setCurrentIndex(-1)
        self.category.currentIndexChanged.connect(self._mark_dirty)
        self.urgency = self._level_combo(body, self.tr("Urgency"))
        self.impact = self._level_combo(body, self.tr("Impact"))
        grid.addWidget(self.category, 1, 0)
        grid.addWidget(self.urgency, 1, 1)
        grid.addWidget(self.impact, 1, 2)
        self.urgency_hint = plain_label("", body, "FieldHint")
        self.impact_hint = plain_label("", body, "FieldHint")
        for hint in (self.urgency_hint, self.impact_hint):
            hint.setWordWrap(True)
        grid.addWidget(self.urgency_hint, 2, 1)
        grid.addWidget(self.impact_hint, 2, 2)
        grid.addWidget(plain_label(self.tr("Priority"), body, "FormLabel"), 0, 3)
        self.priority_label = plain_label("", body, "PriorityLabel")
        grid.addWidget(self.priority_label, 1, 3, Qt.AlignmentFlag.AlignLeft)
        priority_hint = plain_label(
            self.tr("Worked out from urgency and impact."), body, "FieldHint"
        )
        priority_hint.setWordWrap(True)
        grid.addWidget(priority_hint, 2, 3)
        for column in range(4):
            grid.setColumnStretch(column, 1)
        layout.addLayout(grid)

        body_label = plain_label(self.tr("&Description"), body, "FormLabel")
        layout.addWidget(body_label)
        self.body = DescriptionEdit(body)
        self.body.setObjectName("BodyEdit")
        self.body.setPlaceholderText(
            self.tr(
                "What were you doing, what happened, and what did you expect? "
                "Steps to repeat it help us most."
            )
        )
        self.body.setAccessibleName(self.tr("Description"))
        body_label.setBuddy(self.body)  # Alt+D
        self.body.setMinimumHeight(90)
        self.body.setTabChangesFocus(True)
        self.body.textChanged.connect(self._on_body_changed)
        layout.addWidget(self.body, 1)

        self.attachments = AttachmentBox(service.runner, body, keeper=self._keep_bytes)
        self.attachments.changed.connect(self._mark_dirty)
        layout.addWidget(self.attachments)

        diag_row = QHBoxLayout()
        diag_row.setSpacing(8)
        self.diagnostics = QCheckBox(self.tr("Attach diagnostic information"), body)
        self.diagnostics.setToolTip(
            self.tr("Versions, the recent log and settings; never passwords or sign-in keys.")
        )
        self.diagnostics.toggled.connect(self._mark_dirty)
        self.review_button = QPushButton(self.tr("Review…"), body)
        self.review_button.clicked.connect(self.review_diagnostics)
        diag_row.addWidget(self.diagnostics)
        diag_row.addWidget(self.review_button)
        self.diagnostics_note = plain_label("", body, "FieldHint")
        diag_row.addWidget(self.diagnostics_note)
        diag_row.addStretch(1)
        layout.addLayout(diag_row)

        self.error_label = plain_label("", body, "FieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        outer.addWidget(self._build_buttons())

        self._suggest_timer = QTimer(self)
        self._suggest_timer.setSingleShot(True)
        self._suggest_timer.setInterval(SUGGEST_DEBOUNCE_MS)
        self._suggest_timer.timeout.connect(self.suggest)
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self._autosave_tick)
        self._autosave.start()

        for combo in (self.urgency, self.impact):
            combo.currentIndexChanged.connect(self._update_priority)
        self._update_priority()
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self, self.submit)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.setAcceptDrops(True)
        for editor in (self.subject, self.body, self.body.viewport()):
            editor.installEventFilter(self)
        service.account_leaving.connect(self.save_draft_now)
        service.account_changed.connect(self._on_account_changed)
        self.attachments.update_capture_options()

    # -- construction -------------------------------------------------------------

    def _level_combo(self, parent: QWidget, name: str) -> QComboBox:
        combo = QComboBox(parent)
        combo.setObjectName("FormCombo")
        combo.setAccessibleName(name)
        for level in tt.LEVELS:
            combo.addItem(tt.level_label(level), level)
        combo.setCurrentIndex(tt.LEVELS.index("medium"))
        combo.currentIndexChanged.connect(self._mark_dirty)
        return combo

    def _build_suggestions(self, parent: QWidget) -> QWidget:
        box = QFrame(parent)
        box.setObjectName("Suggestions")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        self.suggestions_title = plain_label(
            self.tr("These articles may already answer it:"), box, "FieldHint"
        )
        layout.addWidget(self.suggestions_title)
        self.suggestion_buttons: list[QPushButton] = []
        for _ in range(SUGGESTIONS):
            button = QPushButton(box)
            button.setObjectName("SuggestionLink")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setFlat(True)
            button.clicked.connect(lambda _c=False, b=button: self._open_suggestion(b))
            button.hide()
            layout.addWidget(button)
            self.suggestion_buttons.append(button)
        self.deflection = QWidget(box)
        row = QHBoxLayout(self.deflection)
        row.setContentsMargins(0, 4, 0, 0)
        self.deflection_question = plain_label("", self.deflection)
        self.deflection_question.setWordWrap(True)
        self.solved_button = QPushButton(self.tr("Yes, it is solved"), self.deflection)
        self.solved_button.clicked.connect(self._solved)
        self.not_solved_button = QPushButton(self.tr("No, I still need help"), self.deflection)
        self.not_solved_button.clicked.connect(self._not_solved)
        row.addWidget(self.deflection_question, 1)
        row.addWidget(self.solved_button)
        row.addWidget(self.not_solved_button)
        self.deflection.hide()
        layout.addWidget(self.deflection)
        self.suggestions_box = box
        box.hide()
        return box

    def _build_buttons(self) -> QWidget:
        bar = QFrame(self)
        bar.setObjectName("FormButtons")
        row = QHBoxLayout(bar)
        row.setContentsMargins(22, 8, 22, 12)
        self.discard_button = QPushButton(self.tr("Discard draft"), bar)
        self.discard_button.clicked.connect(self.discard_draft)
        self.draft_status = plain_label("", bar, "FieldHint")
        self.cancel_button = QPushButton(self.tr("Close"), bar)
        self.cancel_button.setToolTip(self.tr("Close the form; your draft is kept"))
        self.cancel_button.clicked.connect(self.close_form)
        self.submit_button = QPushButton(self.tr("Submit ticket"), bar)
        self.submit_button.setObjectName("Primary")
        self.submit_button.setToolTip(self.tr("Submit (Ctrl+Enter)"))
        self.submit_button.clicked.connect(self.submit)
        row.addWidget(self.discard_button)
        row.addWidget(self.draft_status)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.submit_button)
        return bar

    # -- opening -------------------------------------------------------------------

    def open_with(self, context: dict[str, str] | None = None, query: str = "") -> None:
        """Show the form for a (host) request: the draft comes back, then the
        host's context and subject are applied on top."""
        self.load_categories()
        self.clear_error()
        wanted = dict(context or {})
        log.info("ticket form opened context=%s", sorted(wanted))

        def apply() -> None:
            if wanted:
                self.set_context(wanted)
            subject = query.strip() or (
                self.tr("Error {code}").format(code=wanted["error_code"].strip())
                if wanted.get("error_code", "").strip()
                else ""
            )
            if subject and not self.subject.text().strip():
                self.subject.setText(subject[:MAX_SUBJECT])
            self.subject.setFocus()
            self.subject.end(False)

        if self._restored:
            apply()
        else:
            self.restore_draft(then=apply)

    def set_context(self, context: dict[str, str]) -> None:
        self.context = {str(k): str(v) for k, v in context.items()}
        clear_layout(self.context_layout)
        for key, value in ordered_context(self.context):
            chip = Chip(f"{context_label(key)}: {value}", self.context_chips, kind="context")
            self.context_layout.addWidget(chip)
        self.context_host.setVisible(bool(self.context))
        self._mark_dirty()

    def context_texts(self) -> list[str]:
        texts = []
        for i in range(self.context_layout.count()):
            item = self.context_layout.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, Chip):
                texts.append(widget.text())
        return texts

    def load_categories(self) -> None:
        if self._categories_loaded:
            return
        # A channel of its own: the Help page's category list is never cancelled.
        self.portal.categories(self._on_categories, lambda _exc: None, channel="ticket-categories")

    def _on_categories(self, fetched: Fetched[CategoryList]) -> None:
        value = fetched.value
        if value is None:
            return
        current = self.category.currentData()
        self.category.blockSignals(True)
        self.category.clear()
        for category in value.categories:
            self.category.addItem(category.name, category.name)
        self.category.addItem(self.tr("Other"), OTHER_CATEGORY)
        index = self.category.findData(current) if current else -1
        self.category.setCurrentIndex(index)
        self.category.blockSignals(False)
        self._categories_loaded = True

    def set_category(self, name: str) -> None:
        if not name:
            self.category.setCurrentIndex(-1)
            return
        index = self.category.findData(name)
        if index < 0:
            # Not (yet) one of the listed ones: keep it selectable.
            self.category.insertItem(self.category.count() - 1, name, name)
            index = self.category.findData(name)
        self.category.setCurrentIndex(index)

    # -- priority --------------------------------------------------------------------

    def level(self, combo: QComboBox) -> str:
        return str(combo.currentData() or "medium")

    def set_levels(self, urgency: str, impact: str) -> None:
        for combo, level in ((self.urgency, urgency), (self.impact, impact)):
            index = combo.findData(level)
            combo.setCurrentIndex(index if index >= 0 else tt.LEVELS.index("medium"))

    def priority(self) -> str:
        from protocol.tickets import Level, priority_for

        return str(priority_for(Level(self.level(self.urgency)), Level(self.level(self.impact))))

    def _update_priority(self) -> None:
        priority = self.priority()
        self.priority_label.setText(tt.priority_label(priority))
        self.priority_label.setProperty("priority", priority)
        repolish(self.priority_label)
        self.urgency_hint.setText(tt.urgency_hint(self.level(self.urgency)))
        self.impact_hint.setText(tt.impact_hint(self.level(self.impact)))

    # -- suggestions --------------------------------------------------------------------

    def _on_subject_changed(self, _text: str) -> None:
        self._mark_dirty()
        self._suggest_timer.start()

    def suggest(self) -> None:
        """Search the subject now (normally 400 ms after the last keystroke)."""
        self._suggest_timer.stop()
        query = self.subject.text().strip()
        if query == self._last_suggest:
            return
        self._last_suggest = query
        if len(query) < 2:
            self._show_suggestions(query, [])
            return
        self._search_suggestions(query, suggestion_queries(query))

    def _search_suggestions(self, subject: str, queries: list[str]) -> None:
        # One search at a time; the next, looser one only if this found nothing.
        self.portal.search(
            queries[0],
            lambda fetched: self._on_suggestions(subject, queries, fetched),
            lambda _exc: None,
            per_page=SUGGESTIONS,
            channel="suggest",
        )

    def _on_suggestions(
        self, subject: str, queries: list[str], fetched: Fetched[SearchResults]
    ) -> None:
        if subject != self.subject.text().strip():
            return
        results = fetched.value
        hits = [(h.id, h.title) for h in results.results] if results is not None else []
        if not hits and len(queries) > 1 and results is not None:
            self._search_suggestions(subject, queries[1:])
            return
        self._show_suggestions(queries[0], hits)

    def _show_suggestions(self, query: str, hits: list[tuple[int, str]]) -> None:
        self._suggested = hits[:SUGGESTIONS]
        for button, hit in zip(
            self.suggestion_buttons, self._suggested + [None] * SUGGESTIONS, strict=False
        ):
            if hit is None:
                button.hide()
                continue
            button.setText("→ " + hit[1])
            button.setProperty("article_id", hit[0])
            button.setToolTip(hit[1])
            button.show()
        has = bool(self._suggested) or self.deflection.isVisible()
        self.suggestions_title.setVisible(bool(self._suggested))
        self.suggestions_box.setVisible(has)
        if self._suggested:
            log.info(
                "ticket deflection: suggested query=%r articles=%s",
                query,
                [h[0] for h in self._suggested],
            )

    def suggestion_titles(self) -> list[str]:
        return [t for _id, t in self._suggested]

    def _open_suggestion(self, button: QPushButton) -> None:
        article_id = button.property("article_id")
        if article_id is None:
            return
        title = button.toolTip()
        self._opened_article = (int(article_id), title)
        log.info("ticket deflection: opened article=%d", int(article_id))
        self.deflection_question.setText(self.tr("Did “{title}” solve it?").format(title=title))
        self.deflection.show()
        self.suggestions_box.show()
        self.article_requested.emit(int(article_id))

    def _solved(self) -> None:
        if self._opened_article is None:
            return
        article_id = self._opened_article[0]
        log.info("ticket deflection: solved article=%d", article_id)
        self._opened_article = None
        self.deflection.hide()
        self.reset()
        self.save_draft()
        self.deflected.emit(article_id)
        self.closed.emit()

    def _not_solved(self) -> None:
        if self._opened_article is not None:
            log.info("ticket deflection: not solved article=%d", self._opened_article[0])
        self._opened_article = None
        self.deflection.hide()
        self.suggestions_box.setVisible(bool(self._suggested))
        self.body.setFocus()

    # -- attachments, paste and drop ---------------------------------------------------

    def _keep_bytes(self, name: str, data: bytes) -> Path:
        drafts = self.service.drafts
        if drafts is None:
            raise RuntimeError("drafts are not open")
        return drafts.keep_bytes(name, data)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and is_submit_key(event):
            # The description would take Ctrl+Enter as a new line.
            self.submit()
            return True
        if (
            kind == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Paste)
            and self.attachments.clipboard_has_attachment()
        ):
            # Ctrl+V of a picture or copied files attaches them, wherever the
            # caret is; text still pastes as text.
            self.attachments.paste()
            return True
        if (
            kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
            and isinstance(event, QDropEvent)
            and self._is_file_drop(event)
        ):
            # Files dropped on a text field are attached, not typed as paths.
            if kind == QEvent.Type.Drop:
                self.attachments.drop(event.mimeData())
            event.acceptProposedAction()
            return True
        return super().eventFilter(watched, event)

    @staticmethod
    def _is_file_drop(event: QDropEvent) -> bool:
        mime = event.mimeData()
        return mime is not None and (mime.hasUrls() or (mime.hasImage() and not mime.hasText()))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            self.attachments.paste()
            event.accept()
            return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.attachments.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        if self.attachments.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.attachments.drop(event.mimeData()):
            event.acceptProposedAction()

    # -- diagnostics ---------------------------------------------------------------------

    def diagnostics_request(self) -> DiagnosticsRequest:
        from PySide6.QtCore import qVersion
        from PySide6.QtGui import QGuiApplication

        from client.ui.tickets.service import DiagnosticsRequest

        screens: list[dict[str, object]] = []
        for screen in QGuiApplication.screens():
            size = screen.size()
            screens.append(
                {
                    "name": screen.name(),
                    "size": f"{size.width()}x{size.height()}",
                    "scale": screen.devicePixelRatio(),
                    "refresh_hz": round(screen.refreshRate()),
                }
            )
        return DiagnosticsRequest(
            host_context=dict(self.context),
            screens=screens,
            settings=self.settings_dump(),
            qt_version=qVersion(),
        )

    def review_diagnostics(self) -> DiagnosticsDialog:
        from client.ui.tickets.review import DiagnosticsDialog

        dialog = DiagnosticsDialog(
            self.service.runner, self.diagnostics_request(), self, chosen=self._diag_items
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._reviewed(dialog.items()))
        self.review_dialog = dialog
        dialog.open()
        return dialog

    def _reviewed(self, items: list[DiagnosticItem]) -> None:
        self._diag_items = items
        chosen = sum(1 for i in items if i.included)
        self.diagnostics.setChecked(chosen > 0)
        self.diagnostics_note.setText(
            self.tr("{n} of {total} items chosen").format(n=chosen, total=len(items))
        )

    # -- drafts ----------------------------------------------------------------------------

    def _mark_dirty(self, *_args: object) -> None:
        if not self._loading:
            self._dirty = True

    def _on_body_changed(self) -> None:
        self._mark_dirty()

    def draft(self) -> TicketDraft:
        from client.ui.tickets.draft import DraftFile, TicketDraft

        return TicketDraft(
            subject=self.subject.text(),
            body=self.body.toPlainText(),
            category=str(self.category.currentData() or ""),
            urgency=self.level(self.urgency),
            impact=self.level(self.impact),
            context=dict(self.context),
            diagnostics=self.diagnostics.isChecked(),
            files=[
                DraftFile(f.name, f.size, str(f.path), f.kind)
                for f in self.attachments.files
                if f.path is not None
            ],
        )

    def _autosave_tick(self) -> None:
        if self._dirty and not self._submitting:
            self.save_draft()

    def save_draft(self) -> None:
        """Save the draft on the serial worker."""
        if not self._restored:
            return  # the stored draft is not loaded yet: never overwrite it
        self._dirty = False
        self._seq += 1
        draft, seq = self.draft(), self._seq
        self.service.run_draft(lambda store: store.save_ticket(draft, seq), self._saved)

    def save_draft_now(self) -> None:
        """Save on this thread (the window closes, the portal quits). Always
        writes: a save still queued on the worker may never run."""
        drafts = self.service.drafts
        if drafts is None or not self._restored:
            return
        self._dirty = False
        self._seq += 1
        try:
            drafts.save_ticket(self.draft(), self._seq)
        except OSError as exc:
            log.warning("draft not saved at exit: %s", exc)

    def _saved(self, written: object) -> None:
        if written and not self.draft().is_empty():
            self.draft_status.setText(self.tr("Draft saved"))

    def restore_draft(self, then: Callable[[], None] | None = None) -> None:
        def restored(draft: TicketDraft | None) -> None:
            self._restored = True
            if draft is not None and self.draft().is_empty():
                self.apply_draft(draft)
            if then is not None:
                then()

        self.service.run_draft(lambda store: store.load_ticket(), restored)

    def apply_draft(self, draft: TicketDraft) -> None:
        self._loading = True
        try:
            self.subject.setText(draft.subject)
            self.body.setPlainText(draft.body)
            self.set_category(draft.category)
            self.set_levels(draft.urgency, draft.impact)
            self.diagnostics.setChecked(draft.diagnostics)
            if draft.context:
                self.set_context(draft.context)
            self.attachments.set_files(
                [PendingFile(f.name, f.size, path=Path(f.path), kind=f.kind) for f in draft.files]
            )
        finally:
            self._loading = False
        self._dirty = False
        self.draft_status.setText(self.tr("Draft restored"))
        log.info("ticket draft restored (%d file(s))", len(draft.files))

    def _on_account_changed(self, _account: object) -> None:
        # Another customer's drafts: nothing of the previous one stays on
        # screen, and their draft is read again before anything is saved.
        self._loading = True
        try:
            self.reset()
        finally:
            self._loading = False
        self._dirty = False
        self._restored = False
        self._seq = 0

    def reset(self) -> None:
        """Empty form (after submitting or discarding)."""
        self._loading = True
        try:
            self.subject.clear()
            self.body.clear()
            self.category.setCurrentIndex(-1)
            self.set_levels("medium", "medium")
            self.diagnostics.setChecked(False)
            self.diagnostics_note.clear()
            self._diag_items = None
            self.set_context({})
            self.attachments.clear()
            self._show_suggestions("", [])
            self._last_suggest = ""
            self.deflection.hide()
            self.suggestions_box.hide()
        finally:
            self._loading = False
        self._dirty = True
        self.draft_status.clear()
        self.clear_error()

    def discard_draft(self) -> None:
        if not self.draft().is_empty() and not self.confirm(
            self.tr("Discard this draft?"),
            self.tr("What you wrote and attached here will be deleted."),
        ):
            return
        self.reset()
        self.save_draft()
        log.info("ticket draft discarded")

    def close_form(self) -> None:
        self.save_draft()
        self.closed.emit()

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    # -- submitting --------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def fields(self) -> dict[str, object]:
        return {
            "subject": self.subject.text().strip(),
            "body": self.body.toPlainText(),
            "category": str(self.category.currentData() or ""),
            "urgency": self.level(self.urgency),
            "impact": self.level(self.impact),
            "context": dict(self.context),
        }

    def submit(self) -> None:
        if self._submitting:
            return
        if not self.subject.text().strip():
            self.show_error(self.tr("Please write a subject: a few words about the problem."))
            self.subject.setFocus()
            return
        if len(self.body.toPlainText()) > MAX_BODY:
            self.show_error(
                self.tr("The description is too long (at most {n} characters).").format(n=MAX_BODY)
            )
            return
        if self.attachments.busy:
            self.show_error(self.tr("Please wait until the attached files are checked."))
            return
        if not self.service.is_ready:
            self.show_error(ticket_error_message("not_ready"))
            return
        diagnostics: list[DiagnosticItem] | DiagnosticsRequest | None = None
        if self.diagnostics.isChecked():
            diagnostics = (
                self._diag_items if self._diag_items is not None else self.diagnostics_request()
            )
        self.clear_error()
        self._set_submitting(True)
        self.service.submit_ticket(
            self.fields(),
            list(self.attachments.files),
            diagnostics,
            self._on_submitted,
            self._on_submit_error,
        )

    def _set_submitting(self, busy: bool) -> None:
        self._submitting = busy
        self.submit_button.setEnabled(not busy)
        self.submit_button.setText(self.tr("Saving…") if busy else self.tr("Submit ticket"))

    def _on_submitted(self, item: OutboxItem) -> None:
        self._set_submitting(False)
        log.info("ticket form: queued as outbox item %d", item.id)
        self.reset()
        self.save_draft()
        self.submitted.emit(item)

    def _on_submit_error(self, exc: BaseException) -> None:
        self._set_submitting(False)
        code = exception_code(exc)
        message = getattr(exc, "message", "") or str(exc)
        log.warning("ticket not queued: %s (%s)", code, message)
        self.show_error(ticket_failure_message(exc))
