"""Remote assist: the session routes and the stream websocket, exactly as
``protocol.assist`` describes them (all under ``ASSIST_PREFIX``).

Who may call what: agents holding ``assist.start`` create sessions (a
request in a conversation or ticket they may see, or a customer's code) and
ask for control; the customer answers (consent, control, clipboard, pause);
either party reads and ends their sessions. Anybody else gets 404 for a
session, never 403, so whether it exists is not told; a party calling the
other side's route gets 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, WebSocket

from protocol import assist as wire
from protocol.assist import ASSIST_PREFIX
from protocol.models import ErrorBody
from server import audit
from server.assist.service import AssistService, Caller
from server.auth import AnyPrincipal, CurrentCustomer, Principal
from server.permissions import AnyStaff, Permission, Staff

router = APIRouter(prefix=ASSIST_PREFIX, tags=["remote assist"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}
Starter = Annotated[Staff, Permission("assist.start")]


def _service(request: Request) -> AssistService:
    service: AssistService = request.app.state.assist
    return service


def _staff(staff: Staff, request: Request) -> Caller:
    return Caller(
        "agent", staff.agent.id, staff.agent.email, staff.access, audit.source_of(request)
    )


def _principal(principal: Principal, request: Request) -> Caller:
    source = audit.source_of(request)
    if principal.customer is not None:
        c = principal.customer
        return Caller("customer", c.id, c.external_id, None, source)
    assert principal.agent is not None
    a = principal.agent
    return Caller("agent", a.id, a.email, principal.access, source)


def _customer(customer: CurrentCustomer, request: Request) -> Caller:
    return Caller("customer", customer.id, customer.external_id, None, audit.source_of(request))


# --- creating -------------------------------------------------------------------------------


@router.post("/requests", status_code=201, response_model=wire.AssistSession, responses=_ERRORS)
async def create_request(
    body: wire.AssistRequest, request: Request, staff: Starter
) -> wire.AssistSession:
    """Ask the customer of a conversation or a ticket for remote assist."""
    return await _service(request).request(_staff(staff, request), body)


@router.post("/codes", status_code=201, response_model=wire.AssistCode, responses=_ERRORS)
async def create_code(request: Request, customer: CurrentCustomer) -> wire.AssistCode:
    """A one-time code for the customer to read out (replaces their last one)."""
    return await _service(request).make_code(_customer(customer, request))


@router.post(
    "/redeem",
    status_code=201,
    response_model=wire.AssistSession,
    responses={**_ERRORS, 429: {"model": ErrorBody}},
)
async def redeem(body: wire.AssistRedeem, request: Request, staff: Starter) -> wire.AssistSession:
    """Start a session from the code a customer read out."""
    return await _service(request).redeem(_staff(staff, request), body)


# --- reading --------------------------------------------------------------------------------


@router.get("/sessions", response_model=wire.AssistSessionList)
async def list_sessions(request: Request, principal: AnyPrincipal) -> wire.AssistSessionList:
    """The caller's sessions that are not over yet."""
    return await _service(request).list_open(_principal(principal, request))


@router.get("/{session_id}", response_model=wire.AssistSession, responses=_ERRORS)
async def get_session(
    session_id: int, request: Request, principal: AnyPrincipal
) -> wire.AssistSession:
    return await _service(request).get(_principal(principal, request), session_id)


# --- the customer's answers ------------------------------------------------------------------


@router.post("/{session_id}/consent", response_model=wire.AssistSession, responses=_ERRORS)
async def consent(
    session_id: int, body: wire.Consent, request: Request, customer: CurrentCustomer
) -> wire.AssistSession:
    return await _service(request).consent(_customer(customer, request), session_id, body)


@router.post("/{session_id}/control-consent", response_model=wire.AssistSession, responses=_ERRORS)
async def control_consent(
    session_id: int, body: wire.ControlConsent, request: Request, customer: CurrentCustomer
) -> wire.AssistSession:
    return await _service(request).control_consent(_customer(customer, request), session_id, body)


@router.post("/{session_id}/clipboard", response_model=wire.AssistSession, responses=_ERRORS)
async def clipboard(
    session_id: int, body: wire.ClipboardConsent, request: Request, customer: CurrentCustomer
) -> wire.AssistSession:
    return await _service(request).clipboard(_customer(customer, request), session_id, body)


@router.post("/{session_id}/pause", response_model=wire.AssistSession, responses=_ERRORS)
async def pause(
    session_id: int, body: wire.Pause, request: Request, customer: CurrentCustomer
) -> wire.AssistSession:
    return await _service(request).pause(_customer(customer, request), session_id, body)


# --- the agent's ----------------------------------------------------------------------------


@router.post("/{session_id}/control", response_model=wire.AssistSession, responses=_ERRORS)
async def ask_control(
    session_id: int, request: Request, staff: Starter, body: wire.ControlRequest | None = None
) -> wire.AssistSession:
    return await _service(request).ask_control(_staff(staff, request), session_id)


@router.post("/{session_id}/note", status_code=204, response_class=Response, responses=_ERRORS)
async def note(
    session_id: int, body: wire.AssistNote, request: Request, staff: AnyStaff
) -> Response:
    """Keep a note as an internal note of the session's conversation (shown
    live in the console) or an internal comment of its ticket."""
    await _service(request).note(_staff(staff, request), session_id, body)
    return Response(status_code=204)


# --- either party ---------------------------------------------------------------------------


@router.post("/{session_id}/end", response_model=wire.AssistSession, responses=_ERRORS)
async def end(session_id: int, request: Request, principal: AnyPrincipal) -> wire.AssistSession:
    """End the session (nothing more is relayed); ending an ended one is a no-op."""
    return await _service(request).end(_principal(principal, request), session_id)


@router.websocket("/{session_id}/stream")
async def stream(websocket: WebSocket, session_id: int) -> None:
    """The relay (``protocol.assist``): binary messages copied between the
    customer's and the agent's socket. Refusals are close codes after the
    handshake: 4401 no or bad token, 4404 not a party (or no such session),
    4409 not live."""
    service: AssistService = websocket.app.state.assist
    await service.serve_stream(websocket, session_id)
