"""``GET /v1/works`` with a search, paging and a total, and ``GET /v1/works/{id}/history``
(the same service queries as the web pages and ``work list --search``)."""

from __future__ import annotations

from datetime import date

from tdmguard.registry.store import NewWork
from tdmguard.registry.values import CLI_ACTOR
from tdmguard.vocab import Use
from tests.server.conftest import Live


def test_works_search_paging_and_history(live: Live) -> None:
    for i in range(12):
        live.service.registry.add_work("A", NewWork(title=f"Night {i}", external_id=f"A-{i:02d}"))
    live.service.registry.add_work("B", NewWork(title="Night of B", external_id="B-1"))
    live.service.reserve(CLI_ACTOR, "A", uses=[Use.AI_TRAIN], effective_from=date(2025, 1, 1),
                         work_ids=["A-03"])
    with live.client("A") as a, live.client("reader") as reader:
        everything = a.get("/v1/works")
        assert everything.status_code == 200 and len(everything.json()) == 13
        assert everything.headers["x-total-count"] == "13"
        page = a.get("/v1/works", params={"q": "night", "holder": "A", "limit": 5, "offset": 10})
        assert [w["id"] for w in page.json()] == ["A-10", "A-11"]
        assert page.headers["x-total-count"] == "12"
        assert a.get("/v1/works", params={"limit": 10_001}).status_code == 422
        history = a.get("/v1/works/A-03/history")
        assert history.status_code == 200
        assert [e["action"] for e in history.json()] == ["work.add", "reservation.add"]
        assert reader.get("/v1/works/A-03/history").status_code == 403
        assert reader.get("/v1/works", params={"q": "of b"}).json()[0]["id"] == "B-1"
    with live.client("B") as b:
        assert b.get("/v1/works/A-03/history").status_code == 403


def test_import_an_excel_catalogue(live: Live) -> None:
    import io

    import pytest

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["id", "title", "isrc"])
    book.active.append(["XL-1", "From Excel", "GBAYE2400077"])
    data = io.BytesIO()
    book.save(data)
    with live.client("A") as a:
        r = a.post("/v1/works/import", files={"catalogue": ("cat.xlsx", data.getvalue())})
        assert r.status_code == 201, r.text
        assert [w["id"] for w in a.get("/v1/works", params={"q": "excel"}).json()] == ["XL-1"]
