"""The FastAPI application factory.

``create_app`` opens the database, brings the schema to the newest Alembic
revision and wires the routes. It does no network I/O itself; ``server.cli``
serves it with uvicorn.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol import API_PREFIX, PROTOCOL_VERSION
from protocol.models import Health
from server import __version__, errors
from server.api import admin as admin_routes
from server.api import assist as assist_routes
from server.api import auth as auth_routes
from server.api import chat as chat_routes
from server.api import integration as integration_routes
from server.api import kb as kb_routes
from server.api import reports as report_routes
from server.api import team as team_routes
from server.api import tickets as ticket_routes
from server.assist.service import AssistService
from server.blobs import BlobStore
from server.chat.hub import Hub
from server.config import Settings
from server.db import Database
from server.kb.search import SearchIndex
from server.webhooks import Dispatcher, WebhookOptions

log = logging.getLogger("helpbridge.server")


class AccessLog:
    """Logs each request (method, path, status, time) and sets safety headers.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a task and
    a memory stream per request. The path is logged, never the query string:
    it may hold what a customer typed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    if database is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.db_url)
    database.upgrade()
    search = SearchIndex(database)
    chat = Hub(database, search, max_ticket_bytes=settings.max_ticket_bytes)
    webhooks = Dispatcher(database, WebhookOptions.from_env())
    assist = AssistService(settings, database, chat)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What is loaded by now (modules, models, schemas: ~130,000 objects)
        # lives as long as the process. Keep it out of the cyclic collector's
        # full passes, which otherwise walk all of it while every open
        # websocket waits (~100 ms stalls under chat load, bench/chat.py).
        gc.freeze()
        # The chat hub's writer thread and the event loop hand the GIL back
        # and forth on every database call; the default 5 ms switch interval
        # made each hand-off a wait (chat send p50 4 ms -> 1.5 ms at 1 ms).
        sys.setswitchinterval(0.001)
        await chat.start()
        await webhooks.start()
        await assist.start()
        try:
            yield
        finally:
            await assist.stop()
            await webhooks.stop()
            await chat.stop()
            database.dispose()

    app = FastAPI(
        title="HelpBridge vendor service",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.db = database
    app.state.search = search
    app.state.chat = chat
    app.state.webhooks = webhooks
    app.state.assist = assist
    app.state.blobs = BlobStore(settings.data_dir / "blobs")
    errors.install(app)
    app.add_middleware(AccessLog)

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz() -> Health:
        return Health(version=__version__, protocol=PROTOCOL_VERSION)

    app.include_router(auth_routes.router, prefix=API_PREFIX)
    app.include_router(admin_routes.router, prefix=API_PREFIX)
    app.include_router(kb_routes.router, prefix=API_PREFIX)
    app.include_router(ticket_routes.router, prefix=API_PREFIX)
    app.include_router(chat_routes.router, prefix=API_PREFIX)
    app.include_router(team_routes.router, prefix=API_PREFIX)
    app.include_router(integration_routes.router, prefix=API_PREFIX)
    app.include_router(report_routes.router, prefix=API_PREFIX)
    app.include_router(assist_routes.router)  # ASSIST_PREFIX, within API_PREFIX
    return app
