"""The portal's main window: search, browse categories, read articles;
the Tickets section (client/ui/tickets/) and the Chat section
(client/ui/chat/) next to it.

Everything that may block goes through :class:`client.ui.portal.Portal` (and
so through the TaskRunner); this module only arranges widgets and reacts to
results on the GUI thread.

Search-as-you-type: every text change restarts a 250 ms single-shot timer;
when it fires, the current text is searched. An input method's preedit text
is not part of ``QLineEdit.text()``, so Chinese input is searched when the
IME commits it, not while the user is still composing.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QDate, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QPaintEvent, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.assist import AssistController
from client.ui.errors import error_message, exception_code
from client.ui.highlight import highlight_html
from client.ui.look import app_icon, icon, product_name
from client.ui.realtime_bridge import RealtimeBridge
from client.ui.tickets.service import TicketService
from client.ui.widgets import HTML_ROLE, ID_ROLE, TITLE_ROLE, ArticleBrowser, BannerArea, ResultList

if TYPE_CHECKING:
    from client.ui.chat import ChatPage
    from client.ui.portal import Fetched, Portal
    from client.ui.settings import PortalSettings, SettingsDialog
    from client.ui.tickets.panel import TicketsPanel
    from protocol.host import HostRequest
    from protocol.models import Article, CategoryList, Customer, SearchResults
    from protocol.tickets import TicketSummary

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250
PER_PAGE = 10
STARTUP_MARK_ENV = "HELPBRIDGE_STARTUP_MARK"

PAGE_HOME, PAGE_RESULTS, PAGE_ARTICLE = 0, 1, 2
SECTION_HELP, SECTION_TICKETS, SECTION_CHAT = 0, 1, 2

ARTICLE_CSS = """
body { font-size: 14px; line-height: 150%; color: #1f2937; }
h1 { font-size: 20px; font-weight: 700; margin-top: 8px; }
h2 { font-size: 17px; font-weight: 700; margin-top: 18px; }
h3 { font-size: 15px; font-weight: 700; margin-top: 14px; }
p, li { margin-top: 4px; margin-bottom: 4px; }
a { color: #1d4ed8; text-decoration: none; }
code { font-family: monospace; background-color: #f3f4f6; }
pre { font-family: monospace; background-color: #f3f4f6; padding: 8px; }
table { border-collapse: collapse; }
th { background-color: #f3f4f6; font-weight: 700; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; }
.image-alt { color: #6b7280; font-style: italic; }
"""

_LEADING_H1 = re.compile(r"\A\s*#\s+[^\n]*\n")


class MainWindow(QMainWindow):
    """The customer portal window.

    Signals:
        hidden_to_tray(): the window was closed while a tray icon exists and
            is now hidden instead of quitting.
        search_shown(str, int, str): results for (query, total, first title)
            are on screen; also written to the log.
        notification_requested(str, str, int): (title, text, ticket id) for
            a tray message: support answered or changed a ticket.
        chat_notification_requested(str, str): (title, text) for a tray
            message: a chat message arrived while the window is hidden.
        badge_changed(int): unread tickets and chat messages together (the
            tray icon and the dock badge show it).
    """

    hidden_to_tray = Signal()
    search_shown = Signal(str, int, str)
    notification_requested = Signal(str, str, int)
    chat_notification_requested = Signal(str, str)
    badge_changed = Signal(int)

    def __init__(
        self, portal: Portal, settings: PortalSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.portal = portal
        self.settings = settings
        self.hide_to_tray = False
        self._painted = False
        self._query = ""
        self._category: str | None = None
        self._page = 1
        self._total = 0
        self._shown = 0
        self._article_id: int | None = None
        self._back_page = PAGE_HOME
        self._categories_loaded = False
        self._tickets_panel: TicketsPanel | None = None
        self._pending_form: tuple[dict[str, str], str] | None = None
        self.tickets = TicketService(portal, parent=self)
        self.realtime = RealtimeBridge(portal, self)
        self.assist = AssistController(portal, self.realtime, self)
        self._chat_page: ChatPage | None = None
        self._unread = {"tickets": 0, "chat": 0}

        self.setWindowTitle(product_name())
        self.setWindowIcon(app_icon())
        self.resize(1000, 680)
        self.setMinimumSize(720, 480)

        central = QWidget(self)
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_header())

        body = QWidget(central)
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(20, 16, 20, 16)
        body_layout.setSpacing(12)
        self.banners = BannerArea(body)
        self.banners.action.connect(self._on_banner_action)
        body_layout.addWidget(self.banners)
        self.section_stack = QStackedWidget(body)
        help_page = QWidget(self.section_stack)
        help_layout = QVBoxLayout(help_page)
        help_layout.setContentsMargins(0, 0, 0, 0)
        help_layout.setSpacing(12)
        help_layout.addLayout(self._build_search_row())

        splitter = QSplitter(Qt.Orientation.Horizontal, help_page)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(12)
        splitter.addWidget(self._build_categories_panel())
        splitter.addWidget(self._build_content_panel())
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 710])
        help_layout.addWidget(splitter, 1)
        self.section_stack.addWidget(help_page)
        # The Tickets section is built the first time it is needed.
        self.tickets_host = QWidget(self.section_stack)
        tickets_layout = QVBoxLayout(self.tickets_host)
        tickets_layout.setContentsMargins(0, 0, 0, 0)
        self.section_stack.addWidget(self.tickets_host)
        # So is the Chat section.
        self.chat_host = QWidget(self.section_stack)
        QVBoxLayout(self.chat_host).setContentsMargins(0, 0, 0, 0)
        self.section_stack.addWidget(self.chat_host)
        body_layout.addWidget(self.section_stack, 1)
        root.addWidget(body, 1)
        self.setCentralWidget(central)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_search)

        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self._on_escape)
        QShortcut(QKeySequence.StandardKey.Back, self, self.go_back)
        self.sections.currentChanged.connect(self._on_section_changed)

        self.tickets.news.connect(self._on_ticket_news)
        self.tickets.unread_changed.connect(self._show_unread)
        self.tickets.auth_needed.connect(self._on_tickets_auth_needed)
        self.tickets.problem.connect(
            lambda detail: self.banners.show_notice(
                "outbox",
                "warning",
                self.tr(
                    "Tickets cannot be saved on this computer: one written while offline "
                    "would be lost if HelpBridge closes."
                ),
                detail=detail,
            )
        )
        self.tickets.account_changed.connect(self._on_account_changed)
        self.realtime.unread_changed.connect(self._show_chat_unread)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_quit)

        portal.online_changed.connect(self._on_online_changed)
        portal.customer_changed.connect(self.set_customer)
        portal.notice.connect(self._on_notice)
        portal.notice_cleared.connect(self.banners.clear_notice)
        portal.server_changed.connect(self._on_server_changed)
        self._set_status(None)
        self.set_customer(None)

    # -- construction ---------------------------------------------------------

    def _build_header(self) -> QWidget:
        header = QFrame(self)
        header.setObjectName("Header")
        layout = QHBoxLayout(header)
        layout.setContentsMargins(18, 10, 14, 0)
        layout.setSpacing(12)
        logo = QLabel(header)
        logo.setPixmap(app_icon().pixmap(30, 30))
        title = QLabel(product_name(), header)
        title.setObjectName("AppTitle")
        self.sections = QTabBar(header)
        self.sections.setObjectName("Sections")
        self.sections.setDrawBase(False)
        self.sections.setExpanding(False)
        self.sections.addTab(icon("help"), self.tr("Help"))
        self.sections.addTab(icon("ticket"), self.tr("Tickets"))
        self.sections.addTab(icon("chat"), self.tr("Chat"))
        self.sections.setTabToolTip(SECTION_CHAT, self.tr("Chat with support"))
        self.sections.setTabToolTip(SECTION_HELP, self.tr("Search and read help articles"))
        self.sections.setTabToolTip(
            SECTION_TICKETS, self.tr("Write to support and follow your tickets")
        )

        left = QHBoxLayout()
        left.setSpacing(8)
        left.addWidget(logo)
        left.addWidget(title)
        layout.addLayout(left)
        layout.addSpacing(18)
        layout.addWidget(self.sections, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addStretch(1)

        customer = QWidget(header)
        customer_layout = QVBoxLayout(customer)
        customer_layout.setContentsMargins(0, 0, 0, 8)
        customer_layout.setSpacing(0)
        name_row = QHBoxLayout()
        name_row.setSpacing(6)
        self.customer_name = QLabel(customer)
        self.customer_name.setObjectName("CustomerName")
        self.tier_badge = QLabel(customer)
        self.tier_badge.setObjectName("TierBadge")
        name_row.addStretch(1)
        name_row.addWidget(self.customer_name)
        name_row.addWidget(self.tier_badge)
        self.customer_company = QLabel(customer)
        self.customer_company.setObjectName("CustomerCompany")
        self.customer_company.setAlignment(Qt.AlignmentFlag.AlignRight)
        customer_layout.addLayout(name_row)
        customer_layout.addWidget(self.customer_company)
        layout.addWidget(customer, 0, Qt.AlignmentFlag.AlignVCenter)

        self.status_label = QLabel(header)
        self.status_label.setObjectName("Status")
        layout.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignVCenter)

        self.settings_button = QToolButton(header)
        self.settings_button.setIcon(icon("settings"))
        self.settings_button.setToolTip(self.tr("Settings"))
        self.settings_button.setAccessibleName(self.tr("Settings"))
        self.settings_button.clicked.connect(self.open_settings)
        layout.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignVCenter)
        header.setFixedHeight(60)
        return header

    def _build_search_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(10)
        self.search_box = QLineEdit(self)
        self.search_box.setObjectName("SearchBox")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setPlaceholderText(
            self.tr("Search help articles, e.g. “invoice” or an error code")
        )
        self.search_box.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_box.setAccessibleName(self.tr("Search help articles"))
        self.search_box.textChanged.connect(self._on_text_changed)
        self.search_box.returnPressed.connect(self.run_search)
        row.addWidget(self.search_box, 1)
        return row

    def _build_categories_panel(self) -> QWidget:
        panel = QFrame(self)
        panel.setObjectName("Panel")
        panel.setMinimumWidth(180)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(6)
        title = QLabel(self.tr("CATEGORIES"), panel)
        title.setObjectName("PanelTitle")
        title.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(title)
        self.categories = QListWidget(panel)
        self.categories.setObjectName("Categories")
        self.categories.setCursor(Qt.CursorShape.PointingHandCursor)
        self.categories.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.categories.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.categories.itemClicked.connect(self._on_category_clicked)
        self.categories.itemActivated.connect(self._on_category_clicked)
        layout.addWidget(self.categories, 1)
        self.categories_hint = QLabel(panel)
        self.categories_hint.setObjectName("Hint")
        self.categories_hint.setWordWrap(True)
        self.categories_hint.setContentsMargins(6, 0, 6, 0)
        self.categories_hint.setText(self.tr("Loading…"))
        layout.addWidget(self.categories_hint)
        return panel

    def _build_content_panel(self) -> QWidget:
        panel = QFrame(self)
        panel.setObjectName("Panel")
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        self.pages = QStackedWidget(panel)
        self.pages.addWidget(self._build_home_page())
        self.pages.addWidget(self._build_results_page())
        self.pages.addWidget(self._build_article_page())
        layout.addWidget(self.pages)
        return panel

    def _build_home_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(36, 36, 36, 36)
        layout.setSpacing(10)
        logo = QLabel(page)
        logo.setPixmap(app_icon().pixmap(64, 64))
        title = QLabel(self.tr("How can we help you?"), page)
        title.setObjectName("WelcomeTitle")
        hint = QLabel(
            self.tr(
                "Type your question or an error code in the search box, "
                "or pick a category on the left to browse its articles."
            ),
            page,
        )
        hint.setObjectName("Hint")
        hint.setWordWrap(True)
        self.home_customer = QLabel(page)
        self.home_customer.setObjectName("Hint")
        self.home_customer.setWordWrap(True)
        # Wrapped labels get the full width (an alignment flag in addWidget
        # would size them to their unwrapped hint and cut the text).
        for label in (title, hint, self.home_customer):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        layout.addWidget(logo, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.home_customer)
        self.remote_help_button = QPushButton(
            icon("screen-share"), self.tr("Get remote help"), page
        )
        self.remote_help_button.setToolTip(
            self.tr("Get a one-time code so that a support agent can see your screen")
        )
        self.remote_help_button.clicked.connect(self.open_remote_help)
        layout.addWidget(self.remote_help_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    def _build_results_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.results_title = QLabel(page)
        self.results_title.setObjectName("PageTitle")
        self.results_title.setTextFormat(Qt.TextFormat.PlainText)
        self.category_chip = QPushButton(page)
        self.category_chip.setObjectName("FilterChip")
        self.category_chip.setIcon(icon("close"))
        self.category_chip.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self.category_chip.setToolTip(self.tr("Remove this filter"))
        self.category_chip.clicked.connect(self.clear_category)
        self.category_chip.hide()
        top.addWidget(self.results_title, 1)
        top.addWidget(self.category_chip, 0)
        layout.addLayout(top)
        self.results_info = QLabel(page)
        self.results_info.setObjectName("Hint")
        self.results_info.setWordWrap(True)
        self.results_info.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.results_info)
        self.results = ResultList(page)
        self.results.itemActivated.connect(self._on_result_activated)
        self.results.itemClicked.connect(self._on_result_activated)
        layout.addWidget(self.results, 1)
        self.empty_label = QLabel(page)
        self.empty_label.setObjectName("Hint")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.hide()
        layout.addWidget(self.empty_label, 1)
        self.more_button = QPushButton(self.tr("More results"), page)
        self.more_button.clicked.connect(self.load_more)
        self.more_button.hide()
        layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignHCenter)
        return page

    def _build_article_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(14, 10, 14, 8)
        layout.setSpacing(4)
        self.back_button = QToolButton(page)
        self.back_button.setObjectName("BackButton")
        self.back_button.setIcon(icon("back"))
        self.back_button.setText(self.tr("Back"))
        self.back_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.back_button.clicked.connect(self.go_back)
        layout.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.article_title = QLabel(page)
        self.article_title.setObjectName("ArticleTitle")
        self.article_title.setWordWrap(True)
        self.article_title.setTextFormat(Qt.TextFormat.PlainText)
        self.article_title.setContentsMargins(16, 6, 16, 0)
        self.article_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.article_title)
        self.article_meta = QLabel(page)
        self.article_meta.setObjectName("ArticleMeta")
        self.article_meta.setTextFormat(Qt.TextFormat.PlainText)
        self.article_meta.setContentsMargins(16, 0, 16, 0)
        layout.addWidget(self.article_meta)
        self.article_view = ArticleBrowser(page)
        self.article_view.document().setDefaultStyleSheet(ARTICLE_CSS)
        self.article_view.internal_link.connect(self._on_internal_link)
        layout.addWidget(self.article_view, 1)
        return page

    # -- first paint (startup measurement) ----------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            mark = os.environ.get(STARTUP_MARK_ENV)
            if mark:
                stamp = time.time()
                # Written after this paint has been handed to the window system.
                QTimer.singleShot(0, lambda: _write_mark(mark, stamp))

    # -- header state ----------------------------------------------------------

    def set_customer(self, customer: Customer | None) -> None:
        if customer is None:
            self.customer_name.setText(self.tr("Not signed in"))
            self.customer_name.setToolTip(self.tr("Open Help from your application to sign in."))
            self.customer_company.setText("")
            self.tier_badge.hide()
            self.home_customer.setText("")
            return
        name = customer.name or customer.email or customer.external_id
        self.customer_name.setText(name)
        self.customer_name.setToolTip(customer.email or "")
        self.customer_company.setText(customer.company or "")
        tier = str(getattr(customer.tier, "value", customer.tier))
        labels = {"normal": self.tr("Standard"), "vip": "VIP", "svip": "SVIP"}
        self.tier_badge.setText(labels.get(tier, tier.upper()))
        self.tier_badge.setProperty("tier", tier)
        self.tier_badge.style().unpolish(self.tier_badge)
        self.tier_badge.style().polish(self.tier_badge)
        self.tier_badge.setToolTip(self.tr("Support level"))
        self.tier_badge.show()
        self.home_customer.setText(self.tr("Signed in as {name}").format(name=name))

    def _set_status(self, online: bool | None) -> None:
        if online is None:
            text, state = self.tr("Connecting…"), "unknown"
        elif online:
            text, state = self.tr("Online"), "online"
        else:
            text, state = self.tr("Offline"), "offline"
        self.status_label.setText("● " + text)
        self.status_label.setProperty("state", state)
        self.status_label.setToolTip(self.portal.server_url)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    def _on_online_changed(self, online: bool) -> None:
        self._set_status(online)
        if online:
            self.banners.clear_notice("offline")
            self.refresh()
        else:
            self.banners.show_notice(
                "offline",
                "warning",
                self.tr("Offline — showing saved results"),
                detail=error_message("offline"),
                action=self.tr("Retry now"),
            )

    def _on_notice(self, key: str, kind: str, text: str, detail: str) -> None:
        self.banners.show_notice(key, kind, text, detail=detail)

    def _on_banner_action(self, key: str) -> None:
        if key == "offline":
            self.portal.retry_now()
        elif key == "deflection":
            self.banners.clear_notice("deflection")
            self.show_section(SECTION_TICKETS)

    def _on_server_changed(self, _url: str) -> None:
        self._set_status(None)
        self._categories_loaded = False
        self.categories.clear()
        self.refresh()

    # -- data loading --------------------------------------------------------------

    def refresh(self) -> None:
        """Reload what is on screen (after going online or changing server)."""
        self.load_categories()
        page = self.pages.currentIndex()
        if page == PAGE_RESULTS or (page == PAGE_ARTICLE and self._back_page == PAGE_RESULTS):
            self.run_search(switch_page=False)
        if page == PAGE_ARTICLE and self._article_id is not None:
            self.open_article(self._article_id, remember_back=False)

    def load_categories(self) -> None:
        self.portal.categories(self._on_categories, self._on_categories_error)

    def _on_categories(self, fetched: Fetched[CategoryList]) -> None:
        value = fetched.value
        if value is None:
            if not self._categories_loaded:
                self.categories_hint.setText(self.tr("Categories are not available offline yet."))
                self.categories_hint.show()
            return
        current = self._category
        self.categories.clear()
        for category in value.categories:
            item = QListWidgetItem(icon("folder"), f"{category.name}  ({category.count})")
            item.setData(Qt.ItemDataRole.UserRole, category.name)
            item.setToolTip(category.name)
            self.categories.addItem(item)
            if category.name == current:
                item.setSelected(True)
        self._categories_loaded = True
        self.categories_hint.setVisible(not value.categories)
        self.categories_hint.setText(self.tr("No categories yet."))

    def _on_categories_error(self, exc: BaseException) -> None:
        self.categories_hint.setText(error_message(exception_code(exc)))
        self.categories_hint.show()

    # -- search --------------------------------------------------------------------

    def focus_search(self) -> None:
        self.show_section(SECTION_HELP)
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _on_escape(self) -> None:
        if self.section_stack.currentIndex() != SECTION_HELP:
            return
        if self.pages.currentIndex() == PAGE_ARTICLE:
            self.go_back()
        elif self.search_box.text():
            self.search_box.clear()

    def _on_text_changed(self, _text: str) -> None:
        self._debounce.start()

    def set_query(self, query: str) -> None:
        """Put ``query`` in the search box and search now (host requests)."""
        self.search_box.blockSignals(True)
        self.search_box.setText(query)
        self.search_box.blockSignals(False)
        self.run_search()

    def run_search(self, *, switch_page: bool = True) -> None:
        """Search the box's text (within the selected category). With
        ``switch_page`` False (a background refresh) an open article stays open."""
        self._debounce.stop()
        query = self.search_box.text().strip()
        self._query = query
        self._page = 1
        if not query and self._category is None:
            self.portal.cancel_search()
            if switch_page or self.pages.currentIndex() == PAGE_RESULTS:
                self.show_home()
            return
        self._request_page(1, switch_page=switch_page)

    def load_more(self) -> None:
        self._request_page(self._page + 1, switch_page=False)

    def _request_page(self, page: int, *, switch_page: bool) -> None:
        query, category = self._query, self._category
        self.more_button.setEnabled(False)
        if page == 1:
            self.results_info.setText(self.tr("Searching…"))
        self.portal.search(
            query,
            lambda fetched: self._on_search_done(fetched, query, category, page, switch_page),
            lambda exc: self._on_search_error(exc, query),
            category=category,
            page=page,
            per_page=PER_PAGE,
        )

    def _on_search_done(
        self,
        fetched: Fetched[SearchResults],
        query: str,
        category: str | None,
        page: int,
        switch_page: bool,
    ) -> None:
        if switch_page:
            self.pages.setCurrentIndex(PAGE_RESULTS)
        self._update_results_title(query, category)
        self.more_button.setEnabled(True)
        results = fetched.value
        if results is None:
            if page == 1:
                self.results.clear()
                self._shown = self._total = 0
            self.more_button.hide()
            self.results_info.setText("")
            self._show_empty(
                self.tr(
                    "This search is not saved on this computer. "
                    "Results will appear when the connection is back."
                )
            )
            log.info("search shown query=%r results=0 first='' offline=True", query)
            self.search_shown.emit(query, 0, "")
            return
        if page == 1:
            self.results.clear()
            self.results.scrollToTop()
        for hit in results.results:
            self.results.addItem(self._result_item(hit))
        self._page = page
        self._total = results.total
        self._shown = self.results.count()
        info: list[str] = []
        if results.corrected_query:
            info.append(
                self.tr("No results for “{typed}”; showing results for “{corrected}”.").format(
                    typed=query, corrected=results.corrected_query
                )
            )
        if self._total:
            info.append(
                self.tr("Showing {shown} of {total}").format(shown=self._shown, total=self._total)
            )
        if fetched.from_cache:
            info.append(self.tr("Saved results"))
        self.results_info.setText(" · ".join(info))
        if self._shown == 0:
            self._show_empty(
                self.tr("No articles match “{query}”. Try other words or fewer words.").format(
                    query=query
                )
                if query
                else self.tr("This category has no articles yet.")
            )
        else:
            self.empty_label.hide()
            self.results.show()
        self.more_button.setVisible(self._shown < self._total and not fetched.from_cache)
        first = self.results.item(0).data(TITLE_ROLE) if self._shown else ""
        log.info(
            "search shown query=%r results=%d first=%r category=%r cached=%s",
            query,
            self._total,
            first,
            category,
            fetched.from_cache,
        )
        self.search_shown.emit(query, self._total, first or "")

    def _on_search_error(self, exc: BaseException, query: str) -> None:
        self.more_button.setEnabled(True)
        self.results_info.setText("")
        code = exception_code(exc)
        log.warning("search %r failed: %s", query, code)
        self.banners.show_notice("search", "error", error_message(code), detail=str(exc))

    def _show_empty(self, text: str) -> None:
        self.results.hide()
        self.empty_label.setText(text)
        self.empty_label.show()

    def _update_results_title(self, query: str, category: str | None) -> None:
        if query:
            self.results_title.setText(self.tr("Results for “{query}”").format(query=query))
        elif category:
            self.results_title.setText(category)
        if category:
            self.category_chip.setText(category)
            self.category_chip.show()
        else:
            self.category_chip.hide()

    def _result_item(self, hit: Any) -> QListWidgetItem:
        title = highlight_html(hit.title, hit.title_highlights)
        snippet = highlight_html(hit.snippet, hit.snippet_highlights)
        meta = " · ".join(x for x in (hit.category, hit.product) if x)
        html = (
            f'<div style="font-size:15px; font-weight:700; color:#1d4ed8;">{title}</div>'
            f'<div style="color:#374151; margin-top:3px;">{snippet}</div>'
        )
        if meta:
            from html import escape

            html += (
                f'<div style="color:#9ca3af; font-size:12px; margin-top:3px;">{escape(meta)}</div>'
            )
        item = QListWidgetItem()
        item.setData(HTML_ROLE, html)
        item.setData(ID_ROLE, hit.id)
        item.setData(TITLE_ROLE, hit.title)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{hit.title}. {hit.snippet}")
        item.setToolTip(hit.title)
        return item

    def result_titles(self) -> list[str]:
        return [str(self.results.item(i).data(TITLE_ROLE)) for i in range(self.results.count())]

    # -- categories ------------------------------------------------------------------

    def _on_category_clicked(self, item: QListWidgetItem) -> None:
        self.select_category(str(item.data(Qt.ItemDataRole.UserRole)))

    def select_category(self, name: str) -> None:
        self._category = name
        self.run_search()

    def clear_category(self) -> None:
        self._category = None
        self.categories.clearSelection()
        self.run_search()

    # -- pages -------------------------------------------------------------------------

    def show_home(self) -> None:
        self.pages.setCurrentIndex(PAGE_HOME)
        self.category_chip.hide()

    def _on_result_activated(self, item: QListWidgetItem) -> None:
        article_id = item.data(ID_ROLE)
        if article_id is not None:
            self.open_article(int(article_id))

    def open_article(self, article_id: int, *, remember_back: bool = True) -> None:
        if remember_back and self.pages.currentIndex() != PAGE_ARTICLE:
            self._back_page = self.pages.currentIndex()
        self._article_id = article_id
        if self.pages.currentIndex() != PAGE_ARTICLE or remember_back:
            self.article_title.setText(self.tr("Loading…"))
            self.article_meta.setText("")
            self.article_view.clear()
        self.pages.setCurrentIndex(PAGE_ARTICLE)
        self.portal.article(
            article_id,
            lambda fetched: self._on_article(fetched, article_id),
            lambda exc: self._on_article_error(exc, article_id),
        )

    def _on_article(self, fetched: Fetched[Article], article_id: int) -> None:
        if article_id != self._article_id:
            return
        article = fetched.value
        if article is None:
            self.article_title.setText(self.tr("Not available offline"))
            self.article_meta.setText("")
            self.article_view.setPlainText(
                self.tr(
                    "This article is not saved on this computer. "
                    "It will open when the connection is back."
                )
            )
            return
        from client.core.markdown import render_markdown

        body = _LEADING_H1.sub("", article.body, count=1)
        self.article_title.setText(article.title)
        updated = article.updated_at
        date = QDate(updated.year, updated.month, updated.day)
        date_text = self.locale().toString(date, self.tr("MMM d, yyyy"))
        parts = [
            p for p in (article.category, self.tr("Updated {date}").format(date=date_text)) if p
        ]
        if fetched.from_cache:
            parts.append(self.tr("saved copy"))
        self.article_meta.setText(" · ".join(parts))
        self.article_view.setHtml(render_markdown(body))
        self.article_view.verticalScrollBar().setValue(0)
        log.info(
            "article shown id=%d title=%r cached=%s", article.id, article.title, fetched.from_cache
        )

    def _on_article_error(self, exc: BaseException, article_id: int) -> None:
        if article_id != self._article_id:
            return
        code = exception_code(exc)
        self.article_title.setText(self.tr("Article not available"))
        self.article_meta.setText("")
        self.article_view.setPlainText(error_message(code))

    def _on_internal_link(self, url: QUrl) -> None:
        from protocol.host import HostRequestError, parse_help_url

        try:
            request = parse_help_url(url.toString())
        except HostRequestError as exc:
            log.info("ignored help link %s: %s", url.toString(), exc)
            return
        self.handle_request(request)

    def go_back(self) -> None:
        if self.section_stack.currentIndex() != SECTION_HELP:
            return
        if self.pages.currentIndex() != PAGE_ARTICLE:
            return
        self._article_id = None
        target = self._back_page
        if (
            target == PAGE_RESULTS
            and self.results.count() == 0
            and not self._query
            and not self._category
        ):
            target = PAGE_HOME
        self.pages.setCurrentIndex(target)

    # -- host requests -------------------------------------------------------------------

    def handle_request(self, request: HostRequest) -> str | None:
        """Go where the host asked (socket line or help URL). Returns an error
        message, or None."""
        if request.identity:
            self.portal.submit_identity(request.identity)
        self.bring_to_front()
        target = request.open
        if target not in ("ticket", "chat"):
            self.show_section(SECTION_HELP)
        if target == "search":
            self._category = None
            self.categories.clearSelection()
            self.set_query(request.query or "")
        elif target == "article":
            if request.article is None:
                return "open=article needs an article id"
            self.open_article(request.article)
        elif target == "ticket":
            self.open_ticket_form(dict(request.context), request.query or "")
        elif target == "chat":
            self.open_chat(request.query or "")
        elif target == "home" and self.pages.currentIndex() == PAGE_ARTICLE:
            self.go_back()
        if request.context:
            log.info("host context: %s", sorted(request.context))
        return None

    def bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # -- settings ------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        from client.ui.settings import SettingsDialog

        dialog = SettingsDialog(self.portal.server_url, self.settings.language, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.server_url(), dialog.language()))
        dialog.open()
        return dialog

    def apply_settings(self, server_url: str, language: str) -> None:
        language_changed = language != self.settings.language
        self.settings.server_url = server_url
        self.settings.language = language
        self.settings.sync()
        if server_url != self.portal.server_url:
            self.portal.set_server(server_url)
        if language_changed:
            self.banners.show_notice(
                "language",
                "info",
                self.tr("The new language will be used the next time HelpBridge starts."),
            )

    # -- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._tickets_panel is not None:
            self._tickets_panel.save_now()
        if self.hide_to_tray:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
            return
        self.tickets.shutdown()
        super().closeEvent(event)

    def open_remote_help(self) -> None:
        """ "Get remote help": a one-time code to read to the agent."""
        self.assist.open_code_dialog(self)

    def _on_quit(self) -> None:
        self.assist.shutdown()
        if self._tickets_panel is not None:
            self._tickets_panel.save_now()
        self.tickets.shutdown()

    # -- tickets -----------------------------------------------------------------------------

    def show_section(self, index: int) -> None:
        if self.sections.currentIndex() != index:
            self.sections.setCurrentIndex(index)
        else:
            self._on_section_changed(index)

    def _on_section_changed(self, index: int) -> None:
        if index == SECTION_TICKETS:
            self.tickets_panel()
            self.section_stack.setCurrentIndex(SECTION_TICKETS)
            self.banners.clear_notice("deflection")
        elif index == SECTION_CHAT:
            self.chat_page()
            self.section_stack.setCurrentIndex(SECTION_CHAT)
        else:
            self.section_stack.setCurrentIndex(SECTION_HELP)

    def tickets_panel(self) -> TicketsPanel:
        """The Tickets section (built on first use)."""
        if self._tickets_panel is None:
            from client.ui.tickets.panel import TicketsPanel

            panel = TicketsPanel(
                self.tickets, self.portal, self.tickets_host, settings_dump=self._settings_dump
            )
            panel.article_requested.connect(self._open_suggested_article)
            panel.deflected.connect(self._on_deflected)
            layout = self.tickets_host.layout()
            assert layout is not None
            layout.addWidget(panel)
            self._tickets_panel = panel
        return self._tickets_panel

    def open_ticket_form(self, context: dict[str, str] | None = None, query: str = "") -> None:
        """Show the new-ticket form (host request or button), with the host's context."""
        self.show_section(SECTION_TICKETS)
        self.banners.clear_notice("deflection")
        panel = self.tickets_panel()
        if not panel.open_form(context, query):
            # Signing in is under way (or not possible): open it once it is done.
            self._pending_form = (dict(context or {}), query)
            log.info("ticket form waits for the sign-in")

    def open_ticket(self, ticket_id: int) -> None:
        """Show one ticket (a tray message was clicked)."""
        self.bring_to_front()
        self.show_section(SECTION_TICKETS)
        self.tickets_panel().open_ticket(ticket_id)

    def _on_account_changed(self, account: object) -> None:
        if account is not None and self._pending_form is not None:
            context, query = self._pending_form
            self._pending_form = None
            self.tickets_panel().open_form(context, query)
        if account is None:
            self.banners.clear_notice("tickets_auth")

    def _show_unread(self, count: int) -> None:
        self.sections.setTabText(
            SECTION_TICKETS,
            self.tr("Tickets ({n})").format(n=count) if count else self.tr("Tickets"),
        )
        self._unread["tickets"] = count
        self.badge_changed.emit(sum(self._unread.values()))

    def _on_ticket_news(self, summary: TicketSummary, why: str) -> None:
        panel = self._tickets_panel
        watching = (
            panel is not None
            and self.isVisible()
            and self.isActiveWindow()
            and self.section_stack.currentIndex() == SECTION_TICKETS
            and panel.view.isVisible()
            and panel.view.ticket_id == summary.id
        )
        if watching and panel is not None:
            panel.view.reload()
            return
        number = f"#{summary.number}"
        if why == "reply":
            who = summary.assignee_name or self.tr("Support")
            title = self.tr("{who} replied to {number}").format(who=who, number=number)
        else:
            from client.ui.tickets.text import status_label

            title = self.tr("{number} is now “{status}”").format(
                number=number, status=status_label(str(summary.status))
            )
        log.info("ticket notification: #%d %s", summary.number, why)
        self.notification_requested.emit(title, summary.subject, summary.id)

    def _on_tickets_auth_needed(self) -> None:
        if self.portal.customer is None:
            return  # signing in is still under way; the outbox resumes after it
        self.banners.show_notice(
            "tickets_auth",
            "warning",
            self.tr(
                "Your tickets are kept on this computer, but your session has ended. "
                "Please open Help again from your application to send them."
            ),
        )

    def _open_suggested_article(self, article_id: int) -> None:
        self.show_section(SECTION_HELP)
        self.open_article(article_id)
        self.banners.show_notice(
            "deflection",
            "info",
            self.tr(
                "Opened from your ticket draft. Did this article solve it? Tell us on the form."
            ),
            action=self.tr("Back to my ticket"),
        )

    def _on_deflected(self, _article_id: int) -> None:
        self.banners.show_notice(
            "deflection", "info", self.tr("Glad that solved it. No ticket was sent.")
        )

    def _settings_dump(self) -> dict[str, str]:
        store = self.settings.store
        values = {key: str(store.value(key)) for key in store.allKeys()}
        values["server_url"] = self.portal.server_url
        values["ui_locale"] = self.portal.locale
        return values

    # -- chat -------------------------------------------------------------------------------

    def chat_page(self) -> ChatPage:
        """The Chat section (built on first use, or when a message arrives)."""
        if self._chat_page is None:
            from client.ui.chat import ChatPage

            page = ChatPage(self.portal, self.realtime, self.chat_host)
            page.article_requested.connect(self._open_chat_article)
            page.ticket_requested.connect(self.open_ticket)
            page.notify.connect(self.chat_notification_requested)
            layout = self.chat_host.layout()
            assert layout is not None
            layout.addWidget(page)
            self._chat_page = page
        return self._chat_page

    def open_chat(self, text: str = "") -> None:
        """Show the chat (host request, tray message); ``text`` starts the
        message if the customer is not already writing one."""
        self.bring_to_front()
        self.show_section(SECTION_CHAT)
        page = self.chat_page()
        if text and not page.composer.text():
            page.composer.set_text(text)
        page.composer.input.setFocus()

    def _show_chat_unread(self, count: int) -> None:
        self.sections.setTabText(
            SECTION_CHAT, self.tr("Chat ({n})").format(n=count) if count else self.tr("Chat")
        )
        self._unread["chat"] = count
        self.badge_changed.emit(sum(self._unread.values()))
        if count and self._chat_page is None:
            # Messages came before the section was opened: build it so that
            # it hears them (notifications while hidden, read receipts).
            self.chat_page()

    def _open_chat_article(self, article_id: int) -> None:
        self.show_section(SECTION_HELP)
        self.open_article(article_id)


def _write_mark(path: str, stamp: float) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"{stamp:.6f}\n")
    except OSError as exc:
        log.warning("cannot write the startup mark %s: %s", path, exc)
