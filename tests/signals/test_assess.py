from __future__ import annotations

from tdmguard.signals.assess import (
    AssessOptions,
    PageSignals,
    SiteSignals,
    assess_url,
    normalise_agent,
)
from tdmguard.signals.resource import Resource
from tdmguard.vocab import Stance, Use

ORIGIN = "https://a.example"


def test_normalise_agent() -> None:
    assert normalise_agent("GPTBot") == ("gptbot", None)
    assert normalise_agent("*") == ("*", None)
    token, problem = normalise_agent("AI2Bot")
    assert token == "ai" and problem
    assert normalise_agent("123")[0] == "*"


def test_blocked_ai_crawlers_are_noted_for_other_agents() -> None:
    robots = Resource.make(
        ORIGIN + "/robots.txt",
        200,
        [("content-type", "text/plain")],
        b"User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n",
    )
    r = assess_url(ORIGIN + "/x", SiteSignals.build(ORIGIN, robots))
    assert set(r.stances.values()) == {Stance.UNKNOWN}
    notes = [p for v in r.verdicts for p in v.problems]
    assert any("ccbot, gptbot" in p for p in notes)


def test_html_served_as_robots_txt_is_unavailable() -> None:
    robots = Resource.make(
        ORIGIN + "/robots.txt",
        200,
        [("content-type", "text/html")],
        b"<!doctype html><p>User-agent: *<br>Disallow: /",
    )
    site = SiteSignals.build(ORIGIN, robots)
    assert site.robots is None
    assert set(assess_url(ORIGIN + "/x", site).stances.values()) == {Stance.UNKNOWN}


def test_failed_page_is_noted_and_unknown() -> None:
    page = PageSignals.build(Resource.make(ORIGIN + "/x", None, error="ConnectError"))
    r = assess_url(ORIGIN + "/x", SiteSignals.build(ORIGIN), page)
    assert any("unreachable" in p for p in r.problems)


def test_disagreement_is_reported_never_hidden() -> None:
    page = PageSignals.build(
        Resource.make(
            ORIGIN + "/x",
            200,
            [("tdm-reservation", "0"), ("x-robots-tag", "noai"), ("content-type", "audio/mpeg")],
        )
    )
    r = assess_url(ORIGIN + "/x", SiteSignals.build(ORIGIN), page, options=AssessOptions())
    assert r.stances[Use.AI_TRAIN] is Stance.DENY and r.stances[Use.SEARCH] is Stance.ALLOW
    assert any(d.startswith("ai-train: denied by x-robots-tag") for d in r.disagreements)
