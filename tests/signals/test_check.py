"""check_urls end to end against real servers on 127.0.0.1: one site per channel."""

from __future__ import annotations

import json

from tdmguard.signals.check import check_urls
from tdmguard.vocab import Stance, Use

from .local_sites import HTML, JSON, TEXT, Route, Site, serve

A, D, U = Stance.ALLOW, Stance.DENY, Stance.UNKNOWN
RSL = b"""<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>
<prohibits type="usage">ai-train</prohibits></license></content></rsl>"""


def _sites() -> list[Site]:
    return [
        # 0: robots.txt with AI tokens, Content-Usage, Content-Signal
        Site(
            {
                "/robots.txt": Route(
                    200,
                    b"User-agent: *\nContent-Signal: search=yes, ai-train=no\n"
                    b"Content-Usage: train-ai=n\nAllow: /\n\nUser-agent: GPTBot\n"
                    b"Disallow: /\n",
                    TEXT,
                ),
                "/a": Route(200, b"<html></html>", HTML),
            }
        ),
        # 1: tdmrep.json plus a header that overrides it
        Site(
            {
                "/.well-known/tdmrep.json": Route(
                    200, b'[{"location":"/","tdm-reservation":1}]', JSON
                ),
                "/a": Route(200, b"<html></html>", HTML),
                "/b": Route(200, b"x", {"Content-Type": "audio/mpeg", "tdm-reservation": "0"}),
            }
        ),
        # 2: headers and meta: noai, Content-Usage header, TDMRep meta
        Site(
            {
                "/a.jpg": Route(
                    200, b"\xff\xd8", {"Content-Type": "image/jpeg", "X-Robots-Tag": "noimageai"}
                ),
                "/p": Route(
                    200,
                    b'<html><head><meta name="robots" content="noai">'
                    b'<meta name="tdm-reservation" content="1"></head></html>',
                    HTML,
                ),
                "/h": Route(200, b"x", {"Content-Type": "text/plain", "Content-Usage": "search=n"}),
            }
        ),
        # 3: RSL via Link header, licence served and one missing
        Site(
            {
                "/l.xml": Route(200, RSL, {"Content-Type": "application/rsl+xml"}),
                "/a": Route(
                    200,
                    b"x",
                    {
                        "Content-Type": "text/plain",
                        "Link": '</l.xml>; rel="license"; type="application/rsl+xml"',
                    },
                ),
                "/b": Route(
                    200,
                    b"x",
                    {
                        "Content-Type": "text/plain",
                        "Link": '</gone.xml>; rel="license"; type="application/rsl+xml"',
                    },
                ),
            }
        ),
        # 4: ai.txt; 5: robots.txt 503
        Site(
            {
                "/ai.txt": Route(200, b"User-Agent: *\nDisallow: *.mp3\n", TEXT),
                "/s.mp3": Route(200, b"x", {"Content-Type": "audio/mpeg"}),
            }
        ),
        Site({"/robots.txt": Route(503, b"")}),
    ]


def test_every_channel_end_to_end() -> None:
    with serve(*_sites()) as s:
        urls = [
            s[0].base + "/a",
            s[1].base + "/a",
            s[1].base + "/b",
            s[2].base + "/a.jpg",
            s[2].base + "/p",
            s[2].base + "/h",
            s[3].base + "/a",
            s[3].base + "/b",
            s[4].base + "/s.mp3",
            s[5].base + "/x",
            "mailto:x@example.com",
        ]
        star = check_urls(urls)
        gpt = check_urls(urls[:1], agent="GPTBot")
        page_hits = [s[5].requests_for("/x"), s[3].requests_for("/l.xml")]
    by = {r.url: r.stances for r in star}
    assert [r.url for r in star] == urls  # input order
    assert (by[urls[0]][Use.AI_TRAIN], by[urls[0]][Use.SEARCH]) == (D, A)  # content signals
    assert by[urls[0]][Use.TDM] is U
    assert set(gpt[0].stances.values()) == {D}  # GPTBot may not crawl
    assert set(by[urls[1]].values()) == {D}  # tdmrep.json 1
    assert set(by[urls[2]].values()) == {A}  # header 0 supersedes the file
    assert any("overrides" in d for d in star[2].disagreements)
    assert by[urls[3]][Use.AI_TRAIN] is D  # noimageai on an image
    assert by[urls[4]][Use.TDM] is D and by[urls[4]][Use.AI_INPUT] is D  # meta
    assert by[urls[5]][Use.SEARCH] is D  # Content-Usage header
    assert (by[urls[6]][Use.AI_TRAIN], by[urls[6]][Use.SEARCH]) == (D, U)  # RSL prohibits
    assert (by[urls[7]][Use.AI_TRAIN], by[urls[7]][Use.AI_INPUT]) == (D, D)  # unlicensed
    assert by[urls[8]][Use.AI_TRAIN] is D  # ai.txt
    assert set(by[urls[9]].values()) == {D}  # 503: complete disallow
    assert set(by[urls[10]].values()) == {U}
    assert page_hits == [0, 1]  # nothing fetched behind a 503; one licence fetch


def test_json_lines_have_exactly_the_documented_shape() -> None:
    with serve(*_sites()) as s:
        result = check_urls([s[1].base + "/b"])[0]
    line = json.loads(json.dumps(result.to_json()))
    assert list(line) == ["url", "stances", "evidence", "disagreements"]
    assert list(line["stances"]) == ["tdm", "ai-train", "genai-train", "ai-input", "search"]
    assert set(line["stances"].values()) <= {"allow", "deny", "unknown"}
    ev = {e["source"]: e for e in line["evidence"]}
    header = ev["tdmrep:http-header"]
    assert header["status"] == 200 and len(header["digest"]) == 64
    assert header["observed_at"].endswith("Z") and header["raw"].startswith("tdm-reservation: 0")


def test_site_files_are_read_once_for_many_urls() -> None:
    routes = {"/robots.txt": Route(200, b"User-agent: *\nAllow: /\n", TEXT)}
    routes |= {f"/{i}": Route(200, b"<html></html>", HTML) for i in range(30)}
    with serve(Site(routes)) as [s]:
        check_urls([s.base + f"/{i}" for i in range(30)])
        counts = [s.requests_for(p) for p in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")]
        pages = sum(s.requests_for(f"/{i}") for i in range(30))
    assert counts == [1, 1, 1]
    assert pages == 30


def test_no_pages_mode_reads_only_site_files() -> None:
    with serve(*_sites()) as s:
        check_urls([s[2].base + "/p"], fetch_pages=False)
        assert s[2].requests_for("/p") == 0


def test_an_unexpected_failure_is_one_unknown_answer_not_a_crash(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import tdmguard.signals.check as check_module

    async def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("parser bug")

    monkeypatch.setattr(check_module, "_assess_one", boom)
    [result] = check_urls(["http://127.0.0.1:9/x"])
    assert set(result.stances.values()) == {U}
    assert "parser bug" in result.problems[0]
