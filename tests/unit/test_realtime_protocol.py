"""The realtime wire format and the client-side conversation log."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import realtime as rt

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def msg(seq: int, prev: int | None = None, conversation_id: int = 1) -> rt.MessageEvent:
    return rt.MessageEvent(
        conversation_id=conversation_id,
        seq=seq,
        prev_seq=seq - 1 if prev is None else prev,
        client_id=f"client-{seq:04d}",
        sender=rt.Party(kind=rt.SenderKind.customer, id=7, name="Ann"),
        text=f"message {seq}",
        created_at=NOW,
    )


# --- frames -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ({"type": "hello", "token": "t", "protocol": 1}, rt.Hello),
        (
            {"type": "hello", "token": "t", "resume": [{"conversation_id": 3, "after_seq": 9}]},
            rt.Hello,
        ),
        ({"type": "send", "client_id": "a" * 32, "conversation_id": None, "text": "hi"}, rt.Send),
        ({"type": "send", "client_id": "0123abcd", "conversation_id": 4, "text": ""}, rt.Send),
        ({"type": "typing", "conversation_id": 4, "typing": True}, rt.Typing),
        ({"type": "read", "conversation_id": 4, "seq": 0}, rt.Read),
        ({"type": "handoff", "conversation_id": 4}, rt.Handoff),
        (
            {"type": "bot_feedback", "conversation_id": 4, "seq": 2, "helpful": False},
            rt.BotFeedback,
        ),
        ({"type": "ping"}, rt.Ping),
        ({"type": "presence", "status": "online", "capacity": 3}, rt.SetPresence),
        ({"type": "accept", "conversation_id": 4}, rt.Accept),
        ({"type": "transfer", "conversation_id": 4, "agent_id": 2}, rt.Transfer),
        ({"type": "close", "conversation_id": 4}, rt.Close),
        ({"type": "to_ticket", "conversation_id": 4}, rt.ToTicket),
    ],
)
def test_client_frames_parse_to_their_event(frame: dict[str, object], kind: type) -> None:
    event = rt.parse_client_frame(json.dumps(frame))
    assert type(event) is kind
    # And back: what a client encodes, the service parses to the same event.
    assert rt.parse_client_frame(rt.encode(event)) == event


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[]",
        "{}",
        '{"type": "shout"}',
        '{"type": "ping", "extra": 1}',
        '{"type": "send", "client_id": "short", "text": "x"}',
        '{"type": "send", "client_id": "has space in it", "text": "x"}',
        '{"type": "send", "client_id": "' + "a" * 65 + '", "text": "x"}',
        '{"type": "read", "conversation_id": 0, "seq": 1}',
        '{"type": "read", "conversation_id": 1, "seq": -1}',
        '{"type": "presence", "status": "dancing"}',
        '{"type": "presence", "status": "online", "capacity": 51}',
        '{"type": "hello", "token": ""}',
        json.dumps({"type": "send", "client_id": "a" * 8, "text": "x" * 10_001}),
        json.dumps({"type": "send", "client_id": "a" * 8, "attachment_ids": list(range(11))}),
    ],
)
def test_malformed_client_frames_are_refused_with_4400(frame: str) -> None:
    with pytest.raises(rt.FrameError) as info:
        rt.parse_client_frame(frame)
    assert info.value.close_code == rt.CloseCode.malformed
    assert info.value.message


def test_longest_text_is_allowed_and_kept_verbatim() -> None:
    text = "<b>" + "字" * (rt.MAX_TEXT_CHARS - 7) + "</b>"
    event = rt.parse_client_frame(json.dumps({"type": "send", "client_id": "a" * 8, "text": text}))
    assert isinstance(event, rt.Send)
    assert event.text == text


def test_frames_over_64_kib_are_too_large_before_parsing() -> None:
    frame = json.dumps({"type": "ping", "pad": "x" * rt.MAX_FRAME_BYTES})
    with pytest.raises(rt.FrameError) as info:
        rt.parse_client_frame(frame)
    assert info.value.close_code == rt.CloseCode.too_large
    # Counted in bytes, not characters: 3-byte CJK characters hit it sooner.
    cjk = json.dumps({"type": "ping", "p": "字" * 22_000}, ensure_ascii=False)
    assert len(cjk) < rt.MAX_FRAME_BYTES
    with pytest.raises(rt.FrameError):
        rt.parse_client_frame(cjk)


def test_server_events_round_trip_and_tolerate_new_fields() -> None:
    summary = rt.ConversationSummary(
        id=1,
        status=rt.ConversationStatus.queued,
        customer=rt.ChatCustomer(id=7, name="Ann", tier="svip"),
        last_seq=3,
        unread=1,
        queue="svip/PhotoTool",
        created_at=NOW,
        updated_at=NOW,
    )
    events: list[rt.ServerEvent] = [
        rt.Welcome(
            you=rt.You(kind="customer", id=7, name="Ann"), server_time=NOW, conversations=[summary]
        ),
        msg(1),
        rt.Ack(client_id="a" * 8, conversation_id=1, seq=1),
        rt.TypingEvent(
            conversation_id=1, who=rt.Party(kind=rt.SenderKind.agent, id=2, name="Bo"), typing=True
        ),
        rt.ReadEvent(conversation_id=1, reader_kind="agent", seq=3),
        rt.ConversationEvent(conversation=summary),
        rt.PresenceEvent(agent_id=2, name="Bo", status="online", load=1, capacity=5),
        rt.ErrorEvent(code="forbidden", message="not yours", conversation_id=9),
        rt.Pong(),
    ]
    for event in events:
        frame = rt.encode(event)
        assert rt.is_known_server_frame(frame)
        assert rt.parse_server_frame(frame) == event
        newer = json.loads(frame) | {"added_later": [1, 2]}
        assert rt.parse_server_frame(json.dumps(newer)) == event
    assert not rt.is_known_server_frame('{"type": "added_later"}')
    assert not rt.is_known_server_frame("[1]")
    with pytest.raises(rt.FrameError):
        rt.parse_server_frame('{"type": "message"}')


def test_close_codes_are_the_contract_s() -> None:
    codes = {c.name: int(c) for c in rt.CloseCode}
    assert codes["unauthorized"] == 4401
    assert codes["malformed"] == 4400
    assert codes["timeout"] == 4408
    assert codes["too_large"] == 4413
    assert codes["rate_limited"] == 4429
    assert codes["going_away"] == 1001


# --- conversation log ------------------------------------------------------------


def test_log_keeps_order_drops_duplicates_and_reports_gaps() -> None:
    log = rt.ConversationLog()
    assert log.add(msg(1)) == rt.Added(new=True, in_order=True)
    assert log.add(msg(2)).in_order
    assert log.add(msg(5)) == rt.Added(new=True, in_order=False)
    assert log.add(msg(2)) == rt.Added(new=False, in_order=False)
    assert [m.seq for m in log.messages(1)] == [1, 2, 5]
    assert log.expected_next(1) == 3
    assert log.missing(1) == [rt.Gap(2, 5)]
    assert log.resume_points() == [rt.ResumePoint(conversation_id=1, after_seq=2)]
    log.add(msg(4))
    assert log.missing(1) == [rt.Gap(2, 4)]
    log.add(msg(3))
    assert log.missing(1) == []
    assert log.expected_next(1) == 6
    assert log.last_seq(1) == 5
    assert [m.seq for m in log.messages(1)] == [1, 2, 3, 4, 5]


def test_log_follows_prev_seq_over_internal_notes_a_customer_never_gets() -> None:
    log = rt.ConversationLog()
    log.add(msg(1))
    # 2 and 3 were internal notes: the customer's copy of 4 says so.
    assert log.add(msg(4, prev=1)).in_order
    assert log.missing(1) == []
    assert log.expected_next(1) == 5
    log.add(msg(7, prev=6))
    assert log.missing(1) == [rt.Gap(4, 7)]
    assert log.resume_points()[0].after_seq == 4


def test_log_baseline_from_history_and_older_pages() -> None:
    log = rt.ConversationLog()
    log.track(9, after_seq=40)
    assert log.expected_next(9) == 41
    assert log.add(msg(41, conversation_id=9)).in_order
    # An older page fills in below the baseline: stored, in order, no gap.
    assert log.add(msg(12, conversation_id=9)).new
    assert [m.seq for m in log.messages(9)] == [12, 41]
    assert log.missing(9) == []
    assert log.resume_points() == [rt.ResumePoint(conversation_id=9, after_seq=41)]
    log.forget(9)
    assert log.resume_points() == []
    assert log.conversations() == []


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[rt.MessageEvent], list[rt.MessageEvent]]:
    """A conversation's messages as one reader sees them (some numbers are
    internal notes it never gets), and a delivery order with repeats and
    possibly losses, across up to three conversations."""
    messages: list[rt.MessageEvent] = []
    for cid in range(1, draw(st.integers(1, 3)) + 1):
        hidden = draw(st.lists(st.booleans(), min_size=1, max_size=30))
        prev = 0
        for i, is_hidden in enumerate(hidden, start=1):
            if is_hidden:
                continue
            messages.append(msg(i, prev=prev, conversation_id=cid))
            prev = i
    order = draw(st.lists(st.sampled_from(messages), max_size=80)) if messages else []
    return messages, order


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_log_never_duplicates_or_disorders_and_resume_loses_nothing(
    case: tuple[list[rt.MessageEvent], list[rt.MessageEvent]],
) -> None:
    messages, order = case
    log = rt.ConversationLog()
    for m in order:
        log.add(m)
    delivered = {(m.conversation_id, m.seq) for m in order}
    for cid in log.conversations():
        seqs = [m.seq for m in log.messages(cid)]
        assert seqs == sorted(set(seqs))  # ordered, no duplicates
        assert {(cid, s) for s in seqs} == {k for k in delivered if k[0] == cid}
    # Resuming from the resume points replays exactly what is missing:
    # every message at or below a point was delivered already.
    points = {p.conversation_id: p.after_seq for p in log.resume_points()}
    for m in messages:
        after = points.get(m.conversation_id, 0)
        if m.seq <= after:
            assert (m.conversation_id, m.seq) in delivered
    # Then a replay (in order, possibly overlapping) completes every conversation.
    for m in messages:
        if m.seq > points.get(m.conversation_id, 0):
            log.add(m)
    for cid in {m.conversation_id for m in messages}:
        assert log.missing(cid) == []
        want = [m.seq for m in messages if m.conversation_id == cid]
        assert [m.seq for m in log.messages(cid)] == want
        assert log.expected_next(cid) == want[-1] + 1
