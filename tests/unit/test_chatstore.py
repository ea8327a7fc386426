"""Chat history on disk: the customer's messages through their states,
dedupe of replays, paging, resume points, drafts, damaged files."""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from client.core.chatstore import ChatStore, Incoming, chat_path


def incoming(
    seq: int,
    *,
    cid: int = 7,
    prev: int | None = None,
    kind: str = "agent",
    client_id: str | None = None,
    text: str | None = None,
    articles: list[dict[str, object]] | None = None,
) -> Incoming:
    return Incoming(
        conversation_id=cid,
        seq=seq,
        prev_seq=seq - 1 if prev is None else prev,
        client_id=client_id,
        sender_kind=kind,
        sender_id=3 if kind == "agent" else None,
        sender_name={"agent": "Alex", "bot": "Assistant", "customer": "Ann"}.get(kind, ""),
        text=text if text is not None else f"message {seq}",
        articles=articles or [],
        created_at=datetime(2024, 5, 1, 12, 0, seq % 60, tzinfo=UTC),
    )


@pytest.fixture
def store(tmp_path: Path) -> ChatStore:
    return ChatStore(tmp_path / "chat.sqlite3")


def test_paths_differ_by_service_and_customer(tmp_path: Path) -> None:
    a = chat_path(tmp_path, "https://help.example.com", "c1")
    assert a == chat_path(tmp_path, "https://help.example.com/", "c1")
    assert a != chat_path(tmp_path, "https://other.example.com", "c1")
    assert a != chat_path(tmp_path, "https://help.example.com", "c2")
    assert a.parent == tmp_path / "chat"


def test_outgoing_is_sending_until_acked_then_read(store: ChatStore) -> None:
    m = store.add_outgoing("cid-0001", 7, "hello", sender_name="Ann")
    assert (m.state, m.seq, m.conversation_id, m.own) == ("sending", None, 7, True)
    assert [p.client_id for p in store.pending()] == ["cid-0001"]
    # The same client id again (a double click, a retry) stores nothing new.
    again = store.add_outgoing("cid-0001", 7, "hello")
    assert again.local_id == m.local_id and store.count() == 1

    acked = store.ack("cid-0001", 7, 4, prev_seq=2)
    assert acked is not None and (acked.state, acked.seq, acked.prev_seq) == ("sent", 4, 2)
    assert store.pending() == []
    # Support read up to 5: the message is read; a later receipt changes nothing.
    changed = store.mark_read_by_support(7, 5)
    assert [c.client_id for c in changed] == ["cid-0001"] and changed[0].state == "read"
    assert store.by_client_id("cid-0001").state == "read"  # type: ignore[union-attr]
    assert store.mark_read_by_support(7, 6) == []
    # A repeated ack (after a resend) keeps it read.
    assert store.ack("cid-0001", 7, 4).state == "read"  # type: ignore[union-attr]
    assert store.ack("unknown-id", 7, 9) is None


def test_echo_of_own_message_completes_local_copy(store: ChatStore) -> None:
    store.add_outgoing("cid-0002", 7, "hi there")
    # The service's copy (a replay) overtakes the ack.
    saved = store.save_incoming(
        [incoming(3, kind="customer", client_id="cid-0002", text="hi there")]
    )
    assert len(saved) == 1 and (saved[0].seq, saved[0].state) == (3, "sent")
    assert store.count() == 1
    # The late ack then finds it already stored.
    assert store.ack("cid-0002", 7, 3).state == "sent"  # type: ignore[union-attr]
    assert store.count() == 1
    # And a duplicate echo is ignored.
    assert store.save_incoming([incoming(3, kind="customer", client_id="cid-0002")]) == []


def test_ack_after_foreign_copy_merges(store: ChatStore) -> None:
    """A customer message seen from another device first, then acked here."""
    store.add_outgoing("cid-0003", 7, "x")
    # Stored without the client id (as if the echo had no id): a second row.
    store.save_incoming([incoming(5, kind="customer", client_id=None, text="x")])
    assert store.count() == 2
    store.ack("cid-0003", 7, 5)
    assert store.count() == 1
    merged = store.messages(7)[0]
    assert (merged.client_id, merged.seq, merged.prev_seq) == ("cid-0003", 5, 4)


def test_incoming_dedupe_and_order(store: ChatStore) -> None:
    batch = [incoming(s) for s in (1, 2, 3)]
    assert len(store.save_incoming(batch)) == 3
    assert store.save_incoming(batch) == []
    assert len(store.save_incoming([incoming(2), incoming(4)])) == 1
    assert [m.seq for m in store.messages(7)] == [1, 2, 3, 4]
    assert [m.prev_seq for m in store.messages(7)] == [0, 1, 2, 3]
    assert store.seqs(7) == [1, 2, 3, 4]


def test_articles_and_attachments_round_trip(store: ChatStore) -> None:
    arts = [{"id": 12, "title": "Reset <b>password</b>", "snippet": "Open Settings"}]
    store.save_incoming([incoming(1, kind="bot", articles=arts, text="<script>x</script>")])
    m = store.messages(7)[0]
    assert m.articles == tuple(arts)
    assert m.text == "<script>x</script>"
    att = {"id": 5, "filename": "shot.png", "size": 10, "content_type": "image/png"}
    out = store.add_outgoing("cid-0004", 7, "", attachments=[att])
    assert out.attachments == (att,)


def test_paging_newest_then_older(store: ChatStore) -> None:
    store.save_incoming([incoming(s) for s in range(1, 121)])
    store.add_outgoing("cid-0005", 7, "unsent")
    newest = store.messages(7, limit=50)
    assert [m.seq for m in newest[:-1]] == list(range(71, 121))
    assert newest[-1].client_id == "cid-0005"  # unsent last
    older = store.messages(7, before_seq=71, limit=50)
    assert [m.seq for m in older] == list(range(21, 71))
    oldest = store.messages(7, before_seq=21, limit=50)
    assert [m.seq for m in oldest] == list(range(1, 21))
    assert store.messages(7, before_seq=1) == []
    assert store.oldest_seq(7) == 1


def test_failed_retry_discard(store: ChatStore) -> None:
    store.add_outgoing("cid-0006", 7, "too long?")
    failed = store.mark_failed("cid-0006", "text too long")
    assert failed is not None and (failed.state, failed.error) == ("failed", "text too long")
    assert store.pending() == [] and [f.client_id for f in store.failed()] == ["cid-0006"]
    retried = store.mark_sending("cid-0006")
    assert retried is not None and (retried.state, retried.conversation_id) == ("sending", 7)
    assert retried.error is None
    # Its conversation was closed meanwhile: it starts a new one instead.
    moved = store.mark_sending("cid-0006", new_conversation=True)
    assert moved is not None and (moved.state, moved.conversation_id) == ("sending", None)
    assert [m.client_id for m in store.unassigned()] == ["cid-0006"]
    # Only unsent messages can be discarded.
    assert store.discard("cid-0006") is True
    assert store.by_client_id("cid-0006") is None
    store.add_outgoing("cid-0007", 9, "kept")
    store.ack("cid-0007", 9, 1)
    assert store.discard("cid-0007") is False


def test_first_messages_join_the_new_conversation(store: ChatStore) -> None:
    store.add_outgoing("cid-0008", None, "first")
    store.add_outgoing("cid-0009", None, "second")
    assert [m.client_id for m in store.unassigned()] == ["cid-0008", "cid-0009"]
    store.ack("cid-0008", 11, 1)
    moved = store.assign_conversation(11)
    assert [m.client_id for m in moved] == ["cid-0009"]
    assert store.unassigned() == []
    assert [m.client_id for m in store.messages(11)] == ["cid-0008", "cid-0009"]


def test_resume_points_only_move_forward(store: ChatStore) -> None:
    store.set_after_seq(7, 5)
    store.set_after_seq(7, 3)
    store.set_after_seq(8, 1)
    assert store.resume_points() == {7: 5, 8: 1}


def test_conversations_and_unread(store: ChatStore) -> None:
    store.save_conversation(7, {"id": 7, "status": "assigned"})
    store.save_conversation(9, {"id": 9, "status": "bot"})
    assert [c.id for c in store.conversations()] == [9, 7]
    assert store.conversation(7).status == "assigned"  # type: ignore[union-attr]
    store.save_incoming([incoming(s) for s in (1, 2, 3)])
    store.save_incoming([incoming(4, kind="system")])
    store.add_outgoing("cid-0010", 7, "mine")
    store.ack("cid-0010", 7, 5)
    store.save_incoming([incoming(1, cid=9, kind="bot")])
    assert store.unread() == 4 and store.unread(7) == 3
    assert store.set_read(7, 2) is True
    assert store.set_read(7, 1) is False  # never back
    assert store.unread(7) == 1 and store.unread() == 2
    store.save_conversation(7, {"id": 7, "status": "closed"})
    c = store.conversation(7)
    assert c is not None and c.status == "closed" and c.read_seq == 2


def test_history_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite3"
    s1 = ChatStore(path)
    s1.add_outgoing("cid-0011", 7, "written offline")
    s1.save_incoming([incoming(1)])
    s1.set_after_seq(7, 1)
    s1.save_draft("half a senten")
    s1.close()
    s2 = ChatStore(path)
    assert [m.text for m in s2.pending()] == ["written offline"]
    assert s2.resume_points() == {7: 1}
    assert s2.draft() == "half a senten"
    s2.save_draft("")
    assert s2.draft() == ""
    assert s2.persistent and s2.replaced is None


def test_drafts_by_key_are_bounded(store: ChatStore) -> None:
    store.save_draft("a", key="7")
    store.save_draft("b")
    assert (store.draft("7"), store.draft(), store.draft("nope")) == ("a", "b", "")
    store.save_draft("x" * 200_000)
    assert len(store.draft()) == 100_000


def test_garbage_file_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "chat" / "c.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database at all" * 100)
    with caplog.at_level(logging.ERROR, logger="client.core.chatstore"):
        store = ChatStore(path)
    assert store.persistent and store.replaced is not None
    assert store.replaced.read_bytes().startswith(b"this is not a database")
    assert "damaged" in caplog.text and str(store.replaced) in caplog.text
    store.add_outgoing("cid-0012", 1, "works")
    assert store.count() == 1


def test_damaged_pages_are_detected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.sqlite3"
    store = ChatStore(path)
    store.save_incoming([incoming(s, text="y" * 500) for s in range(1, 400)])
    store.close()
    # Collapse the WAL into the main file, then scribble over its middle.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(os.urandom(8192))
    with caplog.at_level(logging.ERROR, logger="client.core.chatstore"):
        again = ChatStore(path)
    assert again.replaced is not None
    assert again.count() == 0
    assert "damaged" in caplog.text


def test_newer_schema_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    store = ChatStore(path)
    assert store.replaced is not None and store.persistent


def test_unwritable_place_keeps_history_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = ChatStore(blocker / "chat" / "c.sqlite3")
    assert store.persistent is False
    store.add_outgoing("cid-0013", 1, "still works")
    assert store.pending()[0].text == "still works"
