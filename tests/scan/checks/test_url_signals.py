"""The ``url-signals`` scan check against a real server on 127.0.0.1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tdmguard.scan.checks import CHECK_FACTORIES, CheckContext, load_factory
from tdmguard.scan.checks.url_signals import UrlSignalsCheck
from tdmguard.scan.record import MediaKind, Record
from tdmguard.vocab import Stance, Use, merge_verdicts
from tests.signals.local_sites import TEXT, Route, Site, serve


def _context(**options: str) -> CheckContext:
    return CheckContext(Path("/nonexistent"), Use.AI_TRAIN, date(2026, 11, 25), "acme", options)


def test_registered_and_built_from_options() -> None:
    assert CHECK_FACTORIES["url-signals"] == "tdmguard.scan.checks.url_signals:make_check"
    check = load_factory("url-signals")(_context(agent="GPTBot", **{"fetch-pages": "0"}))
    assert isinstance(check, UrlSignalsCheck)
    assert check.options.agent == "GPTBot" and not check.options.fetch_pages


def test_records_without_url_start_nothing() -> None:
    check = load_factory("url-signals")(_context())
    assert isinstance(check, UrlSignalsCheck)
    outcome = check.evaluate(Record("a", MediaKind.AUDIO, path=Path("a.mp3")))
    assert outcome.verdicts == () and check._loop is None


def test_verdicts_for_record_urls_with_one_fetch_per_site_file() -> None:
    routes = {
        "/robots.txt": Route(200, b"User-agent: GPTBot\nDisallow: /\n", TEXT),
        "/a.mp3": Route(200, b"x", {"Content-Type": "audio/mpeg", "X-Robots-Tag": "noai"}),
        "/b.mp3": Route(200, b"x", {"Content-Type": "audio/mpeg"}),
    }
    with serve(Site(routes)) as [site]:
        check = load_factory("url-signals")(_context())
        assert isinstance(check, UrlSignalsCheck)
        try:
            a = check.evaluate(Record("a", MediaKind.AUDIO, url=site.base + "/a.mp3"))
            b = check.evaluate(Record("b", MediaKind.AUDIO, url=site.base + "/b.mp3"))
            again = check.evaluate(Record("a2", MediaKind.AUDIO, url=site.base + "/a.mp3"))
        finally:
            check.close()
        assert site.requests_for("/robots.txt") == 1 and site.requests_for("/a.mp3") == 1
    assert merge_verdicts(a.verdicts).stances[Use.AI_TRAIN] is Stance.DENY
    assert merge_verdicts(b.verdicts).stances[Use.AI_TRAIN] is Stance.UNKNOWN
    assert any("gptbot" in p for p in b.problems + tuple(q for v in b.verdicts for q in v.problems))
    assert again == a
