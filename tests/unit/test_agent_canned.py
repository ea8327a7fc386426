"""Canned replies: the JSON file, validation, damaged files, shortcuts."""

from __future__ import annotations

import json
from pathlib import Path

from client.agent.canned import (
    FILENAME,
    STARTERS,
    CannedReply,
    CannedStore,
    clean_shortcut,
    find,
    matching,
    validate,
)


def test_missing_file_gives_starters_and_save_round_trips(tmp_path: Path) -> None:
    store = CannedStore(tmp_path)
    assert store.load() == list(STARTERS)
    replies = [
        CannedReply("/Thanks ", "Thanks", "Thank you!"),
        CannedReply("重启", "重启说明", "请重启应用后再试。"),
    ]
    written = store.save(replies)
    assert [r.shortcut for r in written] == ["thanks", "重启"]
    data = json.loads((tmp_path / FILENAME).read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["replies"][1]["text"] == "请重启应用后再试。"
    assert CannedStore(tmp_path).load() == written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".canned-")]


def test_damaged_file_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_text("{not json", encoding="utf-8")
    assert CannedStore(tmp_path).load() == list(STARTERS)
    assert (tmp_path / (FILENAME + ".bad")).read_text(encoding="utf-8") == "{not json"
    assert not (tmp_path / FILENAME).exists()


def test_wrong_shape_is_damaged_too(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_text(json.dumps({"replies": [{"title": "x"}]}))
    starters = (CannedReply("hi", "Hi", "Hello"),)
    assert CannedStore(tmp_path, starters).load() == list(starters)


def test_validation_drops_bad_and_duplicate_shortcuts() -> None:
    replies = [
        CannedReply("ok", "", "first"),
        CannedReply("OK", "dup", "second"),
        CannedReply("has space", "bad", "x"),
        CannedReply("", "empty", "x"),
        CannedReply("blank", "no text", "   "),
        CannedReply("long", "", "y" * 20_000),
    ]
    out = validate(replies)
    assert [r.shortcut for r in out] == ["ok", "long"]
    assert out[0].title == "ok"  # an empty title becomes the shortcut
    assert len(out[1].text) == 10_000


def test_find_and_matching() -> None:
    replies = [CannedReply("vpn", "VPN", "a"), CannedReply("vpn-reset", "Reset", "b")]
    assert clean_shortcut(" /VPN ") == "vpn"
    found = find(replies, "/VPN")
    assert found is not None and found.text == "a"
    assert find(replies, "nope") is None
    assert [r.shortcut for r in matching(replies, "/vp")] == ["vpn", "vpn-reset"]
    assert [r.shortcut for r in matching(replies, "vpn-")] == ["vpn-reset"]
