"""AgentApi against a real service: sign-in codes, queue filters as query
parameters, ticket actions, token refresh for the realtime connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from client.core.agent_api import AgentApi
from client.core.api import ApiError
from protocol.models import Role
from protocol.tickets import CommentCreate, Priority, TicketStatus
from tests.integration.test_agent_console import (
    PASSWORD,
    CustomerClient,
    agent_id,
    new_agent,
    set_ticket,
)
from tests.servers import LiveServer


def signed_in(server: LiveServer, role: Role = Role.agent) -> tuple[AgentApi, str]:
    email = new_agent(server, role)
    api = AgentApi(server.url)
    session = api.login(email, PASSWORD)
    assert session.agent is not None and session.agent.email == email
    return api, email


def test_login_refusals_carry_codes(live_server: LiveServer) -> None:
    email = new_agent(live_server)
    api = AgentApi(live_server.url)
    with pytest.raises(ApiError) as bad:
        api.login(email, "wrong password")
    assert bad.value.code == "bad_credentials"
    with pytest.raises(ApiError) as empty:
        api.login(email, "")
    assert empty.value.code == "bad_credentials" and empty.value.status is None
    assert not api.has_session


def test_tokens_for_the_realtime_connection(live_server: LiveServer) -> None:
    api, _ = signed_in(live_server)
    seen: list[str] = []
    api.on_tokens_changed = lambda s: seen.append(s.refresh_token)
    first = api.current_access_token()
    assert first
    renewed = api.renewed_access_token()
    assert renewed != first and api.current_access_token() == renewed
    assert len(seen) == 1  # the new pair is reported for the keyring


def test_queue_filters_and_actions(fresh_server: LiveServer) -> None:
    api, email = signed_in(fresh_server)
    me = agent_id(fresh_server, email)
    customer = CustomerClient(fresh_server)
    urgent = customer.create_ticket("Down", urgency="high", impact="high")
    minor = customer.create_ticket("Typo", urgency="low", impact="low")
    set_ticket(
        fresh_server, urgent["id"], first_response_due=datetime.now(UTC) - timedelta(minutes=1)
    )

    assert {t.id for t in api.queue(priority=Priority.P1).tickets} == {urgent["id"]}
    assert {t.id for t in api.queue(priority=[Priority.P1, Priority.P5]).tickets} == {
        urgent["id"],
        minor["id"],
    }
    assert {t.id for t in api.queue(breached=True).tickets} == {urgent["id"]}
    assert api.queue(assignee="me").total == 0

    api.assign(minor["id"], me)
    assert {t.id for t in api.queue(assignee="me").tickets} == {minor["id"]}
    assert {t.id for t in api.queue(assignee=me).tickets} == {minor["id"]}
    assert {t.id for t in api.queue(assignee="none").tickets} == {urgent["id"]}
    assert {t.id for t in api.queue(requester_id=customer.id).tickets} == {
        urgent["id"],
        minor["id"],
    }

    note = CommentCreate(client_key=uuid.uuid4().hex, body="internal", internal=True)
    ticket = api.agent_reply(urgent["id"], note)
    assert ticket.events[-1].kind == "note"
    again = api.agent_reply(urgent["id"], note)  # same key: stored once
    assert [e.kind for e in again.events].count("note") == 1

    resolved = api.set_status(urgent["id"], TicketStatus.resolved)
    assert resolved.status == TicketStatus.resolved
    assert {t.id for t in api.queue(status=TicketStatus.resolved).tickets} == {urgent["id"]}
    auto = api.assign(urgent["id"], auto=True)
    assert auto.assignee is not None
    assert len(api.sla().rules) == 15
    with pytest.raises(ApiError) as missing:
        api.agent_ticket(999_999)
    assert missing.value.code == "not_found"


def test_queue_not_breached(fresh_server: LiveServer) -> None:
    api, _ = signed_in(fresh_server)
    customer = CustomerClient(fresh_server)
    fine = customer.create_ticket("Typo", urgency="low", impact="low")
    assert {t.id for t in api.queue(breached=False).tickets} == {fine["id"]}
