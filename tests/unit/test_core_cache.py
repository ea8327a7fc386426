"""OfflineCache: round trips, LRU bounds, corruption recovery, threads."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from client.core.cache import OfflineCache, search_key
from protocol.models import Article, Category, CategoryList, SearchHit, SearchResults

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def article(i: int, title: str = "Title") -> Article:
    return Article(
        id=i,
        slug=f"a-{i}",
        locale="en",
        title=f"{title} {i}",
        body="Body **bold** 中文",
        category="Install",
        tags=["t"],
        product="LedgerPro",
        published=True,
        updated_at=NOW,
    )


def results(query: str, n: int = 2) -> SearchResults:
    hits = [
        SearchHit(
            id=i,
            locale="zh_CN",
            title=f"标题 {i}",
            title_highlights=[(0, 2)],
            snippet="…",
            category="c",
            product="p",
            updated_at=NOW,
            score=1.5,
        )
        for i in range(n)
    ]
    return SearchResults(query=query, total=n, page=1, per_page=10, results=hits)


def test_round_trips(tmp_path: Path) -> None:
    cache = OfflineCache(tmp_path / "c" / "cache.sqlite3")
    assert not cache.in_memory
    key = search_key("发票", locale="zh_CN")
    assert cache.get_search(key) is None
    cache.put_search(key, results("发票"))
    assert cache.get_search(key) == results("发票")
    assert cache.get_search(search_key("发票", locale="en")) is None
    cache.put_article(article(7))
    assert cache.get_article(7) == article(7)
    assert cache.get_article(8) is None
    cats = CategoryList(categories=[Category(name="Install", locale="en", count=3)])
    cache.put_categories("en", cats)
    assert cache.get_categories("en") == cats
    assert cache.get_categories("zh_CN") is None
    cache.put_categories(None, cats)
    assert cache.get_categories(None) == cats
    cache.close()
    # Persisted: a new cache on the same file sees everything.
    again = OfflineCache(tmp_path / "c" / "cache.sqlite3")
    assert again.get_article(7) == article(7)
    assert again.get_search(key) == results("发票")


def test_overwrite_updates(tmp_path: Path) -> None:
    cache = OfflineCache(tmp_path / "cache.sqlite3")
    cache.put_article(article(1, "Old"))
    cache.put_article(article(1, "New"))
    got = cache.get_article(1)
    assert got is not None and got.title == "New 1"
    assert cache.count("articles") == 1


def test_lru_bound_keeps_most_recently_used(tmp_path: Path) -> None:
    cache = OfflineCache(tmp_path / "cache.sqlite3", max_articles=3, max_searches=2)
    for i in range(1, 4):
        cache.put_article(article(i))
    assert cache.get_article(1) is not None  # 1 is now the most recently used
    cache.put_article(article(4))  # evicts 2, the least recently used
    assert cache.count("articles") == 3
    assert cache.get_article(2) is None
    assert {i for i in (1, 3, 4) if cache.get_article(i)} == {1, 3, 4}
    for q in ("a", "b", "c"):
        cache.put_search(search_key(q), results(q))
    assert cache.count("searches") == 2
    assert cache.get_search(search_key("a")) is None


def test_lru_order_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = OfflineCache(path, max_articles=2)
    cache.put_article(article(1))
    cache.put_article(article(2))
    cache.get_article(1)
    cache.close()
    cache = OfflineCache(path, max_articles=2)
    cache.put_article(article(3))
    assert cache.get_article(2) is None
    assert cache.get_article(1) is not None


def test_default_bounds(tmp_path: Path) -> None:
    cache = OfflineCache(tmp_path / "cache.sqlite3")
    for i in range(1005):
        cache.put_article(article(i))
    assert cache.count("articles") == 1000
    assert cache.get_article(0) is None and cache.get_article(1004) is not None


def test_garbage_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    cache = OfflineCache(path)
    assert not cache.in_memory
    cache.put_article(article(1))
    assert cache.get_article(1) == article(1)
    assert (tmp_path / "cache.sqlite3.corrupt").exists()


def test_truncated_database_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = OfflineCache(path)
    for i in range(200):
        cache.put_article(article(i))
    cache.close()
    data = path.read_bytes()
    # Keep the header, scribble over the b-tree pages.
    path.write_bytes(data[:100] + b"\xff" * (len(data) - 100))
    cache = OfflineCache(path)
    assert (tmp_path / "cache.sqlite3.corrupt").exists()
    assert cache.get_article(5) is None
    cache.put_article(article(5))
    assert cache.get_article(5) == article(5)


def test_file_corrupted_while_open(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = OfflineCache(path)
    for i in range(200):
        cache.put_article(article(i))
    size = path.stat().st_size
    with path.open("r+b") as fh:
        # Bump the file change counter so SQLite drops its page cache,
        # then scribble over every page after the header.
        fh.seek(24)
        fh.write(b"\x7f\x00\x00\x01")
        fh.seek(100)
        fh.write(b"\x00\xff" * ((size - 100) // 2))
    # Reads fail quietly and the cache starts over; nothing raises.
    for i in range(200):
        cache.get_article(i)
    assert (tmp_path / "cache.sqlite3.corrupt").exists()
    cache.put_article(article(1))
    assert cache.get_article(1) == article(1)


def test_entry_from_another_version_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = OfflineCache(path)
    cache.put_article(article(1))
    cache.close()
    with sqlite3.connect(path) as conn:
        conn.execute('UPDATE articles SET body = \'{"id": 1, "unknown": true}\'')
    cache = OfflineCache(path)
    assert cache.get_article(1) is None
    assert cache.count("articles") == 0


def test_newer_schema_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE articles (x)")
        conn.execute("PRAGMA user_version = 99")
    cache = OfflineCache(path)
    cache.put_article(article(1))
    assert cache.get_article(1) == article(1)


def test_unopenable_path_uses_memory(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    cache = OfflineCache(tmp_path / "dir.sqlite3")
    assert cache.in_memory
    cache.put_article(article(1))
    assert cache.get_article(1) == article(1)
    assert (tmp_path / "dir.sqlite3").is_dir()  # never moved aside


def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        cache = OfflineCache(ro / "sub" / "cache.sqlite3")
        cache.put_article(article(1))
        # Root ignores permissions; either way nothing raised and reads work.
        assert cache.get_article(1) in (None, article(1))
    finally:
        ro.chmod(stat.S_IRWXU)


def test_clear(tmp_path: Path) -> None:
    cache = OfflineCache(tmp_path / "cache.sqlite3")
    cache.put_article(article(1))
    cache.put_search("k", results("k"))
    cache.clear()
    assert cache.get_article(1) is None and cache.get_search("k") is None
    with pytest.raises(ValueError):
        cache.count("sqlite_master")


def test_threads(tmp_path: Path) -> None:
    cache = OfflineCache(tmp_path / "cache.sqlite3", max_articles=50)
    errors: list[BaseException] = []

    def work(base: int) -> None:
        try:
            for i in range(100):
                cache.put_article(article(base + i))
                cache.get_article(base + i // 2)
                cache.put_search(search_key(f"q{base}-{i}"), results("q"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.count("articles") == 50
    assert cache.count("searches") == 400


def test_search_key_distinguishes_arguments() -> None:
    keys = {
        search_key("a"),
        search_key("a", locale="en"),
        search_key("a", product="p"),
        search_key("a", category="c"),
        search_key("a", page=2),
        search_key("a", per_page=20),
    }
    assert len(keys) == 6
    assert search_key(" a ") == search_key("a")
