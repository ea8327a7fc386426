"""Knowledge-base routes against a real service with the demo articles."""

from __future__ import annotations

from pathlib import Path

import requests

from server.kb.importer import import_directory
from tests.servers import LiveServer


def get(server: LiveServer, path: str, **params: object) -> requests.Response:
    return requests.get(f"{server.url}/api/v1{path}", params=params, timeout=10)  # type: ignore[arg-type]


def test_chinese_one_and_two_character_queries_find_articles(live_server: LiveServer) -> None:
    for q in ("票", "发票", "打印", "登录"):
        body = get(live_server, "/kb/search", q=q, locale="zh_CN").json()
        assert body["total"] > 0, q
        hit = body["results"][0]
        text = hit["title"] + hit["snippet"]
        assert any(ch in text for ch in q)
        for start, end in hit["snippet_highlights"]:
            assert q in hit["snippet"][start:end] or hit["snippet"][start:end] in q


def test_english_prefix_and_filters(live_server: LiveServer) -> None:
    body = get(live_server, "/kb/search", q="invo", locale="en").json()
    assert body["total"] > 0
    assert all(r["locale"] == "en" for r in body["results"])
    assert any("invoice" in (r["title"] + r["snippet"]).lower() for r in body["results"])
    cats = get(live_server, "/kb/categories", locale="en").json()["categories"]
    assert {c["name"] for c in cats} >= {"Invoices", "Printing"}
    printing = get(live_server, "/kb/search", q="", category="Printing", locale="en").json()
    assert printing["total"] == next(c["count"] for c in cats if c["name"] == "Printing")
    assert all(r["category"] == "Printing" for r in printing["results"])


def test_pagination_is_consistent(live_server: LiveServer) -> None:
    first = get(live_server, "/kb/search", q="LedgerPro", per_page=3, page=1).json()
    second = get(live_server, "/kb/search", q="LedgerPro", per_page=3, page=2).json()
    assert first["total"] == second["total"] > 3
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_bad_queries_are_answered_not_crashed(live_server: LiveServer) -> None:
    for q in ("", " ", "x" * 10_000, '"unbalanced', "NEAR(", "*", "a OR", "-", "^", "发票 AND"):
        r = get(live_server, "/kb/search", q=q)
        assert r.status_code == 200, (q, r.text)
    assert get(live_server, "/kb/search", q="", locale="en").json()["total"] == 0
    for params in ({"page": 0}, {"per_page": 500}, {"locale": "fr"}):
        r = get(live_server, "/kb/search", q="x", **params)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "invalid_request"


def test_article_read_and_unknown_ids(live_server: LiveServer) -> None:
    hit = get(live_server, "/kb/search", q="invoice", locale="en").json()["results"][0]
    article = get(live_server, f"/kb/articles/{hit['id']}").json()
    assert article["title"] == hit["title"]
    assert article["body"].startswith("#")
    for bad in ("999999", "0", "-1"):
        r = get(live_server, f"/kb/articles/{bad}")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
    r = get(live_server, "/kb/articles/abc")
    assert r.status_code == 422


def test_drafts_are_hidden_from_customers(live_server: LiveServer) -> None:
    from server import models

    with live_server.db.session() as s:
        draft = s.query(models.Article).filter_by(published=False).first()
        assert draft is not None, "the demo knowledge base has drafts"
        draft_id, title = draft.id, draft.title
    assert get(live_server, f"/kb/articles/{draft_id}").status_code == 404
    results = get(live_server, "/kb/search", q=title).json()["results"]
    assert draft_id not in {r["id"] for r in results}


def test_agent_crud_keeps_search_in_step(fresh_server: LiveServer) -> None:
    fresh_server.create_agent("editor@example.com")
    h = {"Authorization": f"Bearer {fresh_server.agent_token('editor@example.com')}"}
    url = f"{fresh_server.url}/api/v1/kb/articles"
    r = requests.post(
        url,
        headers=h,
        timeout=5,
        json={
            "locale": "en",
            "title": "Zephyrine module setup",
            "body": "# Setup\nConfigure zephyrine.",
            "category": "Installation",
            "tags": ["zephyrine"],
            "product": "LedgerPro",
        },
    )
    assert r.status_code == 201, r.text
    art = r.json()
    assert get(fresh_server, "/kb/search", q="zephyrine").json()["total"] == 1
    r = requests.put(
        f"{url}/{art['id']}",
        headers=h,
        timeout=5,
        json={"title": "Quasar module", "body": "quasar", "tags": ["quasar"]},
    )
    assert r.status_code == 200
    assert get(fresh_server, "/kb/search", q="zephyrine").json()["total"] == 0
    assert get(fresh_server, "/kb/search", q="quasar").json()["total"] == 1
    r = requests.put(f"{url}/{art['id']}", headers=h, timeout=5, json={"title": None})
    assert r.status_code == 422
    r = requests.post(url, headers=h, timeout=5, json={"locale": "xx", "title": "t", "body": "b"})
    assert r.status_code == 422
    assert requests.delete(f"{url}/{art['id']}", headers=h, timeout=5).status_code == 204
    assert get(fresh_server, "/kb/search", q="quasar").json()["total"] == 0
    assert get(fresh_server, f"/kb/articles/{art['id']}").status_code == 404
    # Without a session: refused.
    assert (
        requests.post(url, json={"locale": "en", "title": "t", "body": "b"}, timeout=5).status_code
        == 401
    )


def test_import_is_idempotent_and_reports_bad_files(
    fresh_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "good.md").write_text(
        "---\nlocale: en\ntitle: Good one\ncategory: Misc\ntags: a, b\n---\n# Good\nbody text\n"
    )
    (folder / "nofront.md").write_text("# Just markdown\n")
    (folder / "badyaml.md").write_text("---\ntitle: [unclosed\n---\nx\n")
    (folder / "badlocale.md").write_text("---\nlocale: fr\ntitle: t\n---\nx\n")
    (folder / "binary.md").write_bytes(b"\xff\xfe\x00bad")
    app_search = fresh_server.search
    report = import_directory(fresh_server.db, app_search, folder)
    assert report.created == 1
    assert len(report.errors) == 4
    assert any("front matter" in e for e in report.errors)
    again = import_directory(fresh_server.db, app_search, folder)
    assert (again.created, again.unchanged) == (0, 1)
    hit = get(fresh_server, "/kb/search", q="good").json()["results"][0]
    assert hit["tags"] == ["a", "b"]
