"""Every test vector of ``shared/reference/optout-protocols.md`` sections 1-7, as tables."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tdmguard.signals.ai_txt import parse_ai_txt
from tdmguard.signals.aipref import parse_content_usage
from tdmguard.signals.assess import AssessOptions, PageSignals, SiteSignals, assess_url
from tdmguard.signals.content_signal import parse_content_signal
from tdmguard.signals.html_meta import parse_html_signals
from tdmguard.signals.resource import Resource
from tdmguard.signals.robots import parse_robots, url_path
from tdmguard.signals.robots_meta import parse_x_robots_tag
from tdmguard.signals.rsl import evaluate_rsl, licence_urls_from_robots, parse_rsl
from tdmguard.signals.tdmrep import (
    layer_from_headers,
    layer_from_html,
    layer_from_rule,
    layer_from_xmp,
    parse_tdmrep_json,
    resolve_layers,
)
from tdmguard.vocab import Stance, Use

A, D, U = Stance.ALLOW, Stance.DENY, Stance.UNKNOWN
ORIGIN = "https://label.example"
TEXT = [("content-type", "text/plain")]
JSON = [("content-type", "application/json")]


def site(
    robots: str | None = None,
    tdmrep: str | None = None,
    ai_txt: str | None = None,
    robots_status: int = 200,
) -> SiteSignals:
    def res(
        path: str, body: str | None, headers: list[tuple[str, str]], status: int = 200
    ) -> Resource | None:
        if body is None:
            return None
        return Resource.make(ORIGIN + path, status, headers, body.encode())

    return SiteSignals.build(
        ORIGIN,
        res("/robots.txt", robots, TEXT, robots_status),
        res("/.well-known/tdmrep.json", tdmrep, JSON),
        res("/ai.txt", ai_txt, TEXT),
    )


def page(path: str, headers: list[tuple[str, str]], body: str = "") -> PageSignals:
    return PageSignals.build(Resource.make(ORIGIN + path, 200, headers, body.encode()))


def stances(result_stances: Mapping[Use, Stance], *uses: Use) -> tuple[Stance, ...]:
    return tuple(result_stances.get(u, U) for u in uses)


# -- 1.8 TDMRep --------------------------------------------------------------------------


def _tdm(
    file: str | None,
    url_path_: str,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    html: str | None = None,
) -> tuple[int | None, str | None]:
    layers = []
    if file is not None:
        layers.append(layer_from_rule(parse_tdmrep_json(file).lookup(url_path_)))
    layers.append(layer_from_headers(list(headers)))
    if html is not None:
        layers.append(layer_from_html(parse_html_signals(html)))
    result = resolve_layers(layers)
    return result.reservation, result.policy


@pytest.mark.parametrize(
    ("vector", "file", "path", "expected"),
    [
        (
            "T1",
            '[{"location":"/","tdm-reservation":1,"tdm-policy":"https://l.example/p.json"}]',
            "/artists/x",
            (1, "https://l.example/p.json"),
        ),
        (
            "T2",
            '[{"location":"/","tdm-reservation":1},{"location":"/press/","tdm-reservation":0}]',
            "/press/kit.zip",
            (1, None),
        ),
        ("T3a", '[{"location":"/audio/*.mp3$","tdm-reservation":1}]', "/audio/a.mp3", (1, None)),
        (
            "T3b",
            '[{"location":"/audio/*.mp3$","tdm-reservation":1}]',
            "/audio/a.mp3?dl=1",
            (None, None),
        ),
        ("T3c", '[{"location":"/audio/*.mp3$","tdm-reservation":1}]', "/audio/A.MP3", (None, None)),
        ("T4", '[{"location":"/","tdm-reservation":"1"}]', "/x", (None, None)),
    ],
)
def test_tdmrep_file_vectors(
    vector: str, file: str, path: str, expected: tuple[int | None, str | None]
) -> None:
    assert _tdm(file, path) == expected, vector


def test_t4_string_value_warns() -> None:
    parsed = parse_tdmrep_json('[{"location":"/","tdm-reservation":"1"}]')
    assert any("non-conformant" in p for p in parsed.problems)


def test_t5_header_supersedes_file() -> None:
    assert _tdm('[{"location":"/","tdm-reservation":1}]', "/x", [("tdm-reservation", "0")])[0] == 0


def test_t6_absence_does_not_reset_but_policy_is_replaced() -> None:
    got = _tdm(
        '[{"location":"/","tdm-reservation":1,"tdm-policy":"https://old"}]',
        "/x",
        [("TDM-Policy", "https://x")],
    )
    assert got == (1, "https://x")


def test_t7_html_supersedes_header() -> None:
    html = '<html><head><meta name="tdm-reservation" content="1"></head></html>'
    assert _tdm(None, "/x", [("tdm-reservation", "0")], html)[0] == 1


def test_t8_invalid_header_keeps_file_value() -> None:
    assert _tdm('[{"location":"/","tdm-reservation":1}]', "/x", [("tdm-reservation", "2")])[0] == 1


def test_t9_html_served_as_tdmrep_json_is_unset_with_warning() -> None:
    s = SiteSignals.build(
        ORIGIN,
        tdmrep=Resource.make(
            ORIGIN + "/.well-known/tdmrep.json",
            200,
            [("content-type", "text/html")],
            b"<!doctype html><html></html>",
        ),
    )
    assert s.tdmrep is None
    result = assess_url(ORIGIN + "/x", s)
    assert result.stances[Use.TDM] is U
    assert any("HTML" in str(e) for v in result.verdicts for e in v.evidence)


@pytest.mark.parametrize("ns", ["http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#"])
def test_t10_xmp_both_namespaces(ns: str) -> None:
    xmp = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:tdm="{ns}"><tdm:reservation>1</tdm:reservation>'
        f"<tdm:policy>https://p</tdm:policy></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    layer = layer_from_xmp(xmp)
    assert (layer.reservation, layer.policy) == (1, "https://p")


def test_tdmrep_reservation_denies_every_use_and_zero_allows() -> None:
    r = assess_url(ORIGIN + "/a", site(tdmrep='[{"location":"/a","tdm-reservation":1}]'))
    assert set(r.stances.values()) == {D}
    r = assess_url(ORIGIN + "/a", site(tdmrep='[{"location":"/a","tdm-reservation":0}]'))
    assert set(r.stances.values()) == {A}


# -- 2.3 robots.txt ----------------------------------------------------------------------

R2 = (
    "User-agent: *\nDisallow: /\nUser-agent: GPTBot\nAllow: /public/\n"
    "Disallow: /public/private\nUser-agent: gptbot\nDisallow: /music/\n"
)


@pytest.mark.parametrize(
    ("vector", "robots", "agent", "path", "allowed"),
    [
        ("R1", "User-agent: *\nAllow: /\nUser-agent: GPTBot\nDisallow: /\n", "GPTBot", "/x", False),
        (
            "R1",
            "User-agent: *\nAllow: /\nUser-agent: GPTBot\nDisallow: /\n",
            "ClaudeBot",
            "/x",
            True,
        ),
        ("R2", R2, "GPTBot", "/public/a", True),
        ("R2", R2, "GPTBot", "/public/private1", False),
        ("R2", R2, "GPTBot", "/music/a", False),
        ("R2", R2, "GPTBot", "/other", True),
        ("R2", R2, "ClaudeBot", "/public/a", False),
        ("R3", "User-agent: *\nDisallow: /a\nAllow: /a\n", "any", "/a", True),
        ("R4", "User-agent: *\nDisallow: /*.mp3$\n", "x", "/t.mp3", False),
        ("R4", "User-agent: *\nDisallow: /*.mp3$\n", "x", "/dir/t.mp3", False),
        ("R4", "User-agent: *\nDisallow: /*.mp3$\n", "x", "/t.mp3?x=1", True),
        ("R4", "User-agent: *\nDisallow: /*.mp3$\n", "x", "/t.MP3", True),
        ("R5", "User-agent: GPTBot\nDisallow:\n", "GPTBot", "/x", True),
        ("R9", "User-agent: MistralAI-User/1.0\nDisallow: /\n", "MistralAI-User", "/x", False),
    ],
)
def test_robots_vectors(vector: str, robots: str, agent: str, path: str, allowed: bool) -> None:
    assert parse_robots(robots).match(path, agent).allowed is allowed, vector


def test_r1_through_assess_denies_every_use_for_the_blocked_crawler() -> None:
    s = site("User-agent: *\nAllow: /\nUser-agent: GPTBot\nDisallow: /\n")
    gpt = assess_url(ORIGIN + "/x", s, options=AssessOptions(agent="GPTBot"))
    claude = assess_url(ORIGIN + "/x", s, options=AssessOptions(agent="ClaudeBot"))
    assert set(gpt.stances.values()) == {D}
    assert set(claude.stances.values()) == {U}  # rule 1: robots allow is not a permission


def test_r6_5xx_is_complete_disallow() -> None:
    r = assess_url(ORIGIN + "/x", site("boom", robots_status=503))
    assert set(r.stances.values()) == {D}


@pytest.mark.parametrize("status", [403, 404])
def test_r7_4xx_is_no_restriction(status: int) -> None:
    r = assess_url(ORIGIN + "/x", site("User-agent: *\nDisallow: /", robots_status=status))
    assert set(r.stances.values()) == {U}


def test_r8_google_extended_denies_training_not_search() -> None:
    s = site("User-agent: Google-Extended\nDisallow: /\n")
    google = assess_url(ORIGIN + "/x", s, options=AssessOptions(agent="Google-Extended"))
    assert stances(google.stances, Use.AI_TRAIN, Use.GENAI_TRAIN, Use.SEARCH) == (D, D, U)
    googlebot = assess_url(ORIGIN + "/x", s, options=AssessOptions(agent="Googlebot"))
    assert set(googlebot.stances.values()) == {U}


# -- 3.6 / 3.7 AIPREF --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "train", "search"),
    [
        ("train-ai=n", D, U),
        ("train-ai=n, search=y", D, A),
        ("train-ai=n,search=y, foo=bar", D, A),
        ("Train-AI=n", U, U),
        ('train-ai="n"', U, U),
        ("train-ai=no", U, U),
        ("train-ai=?0", U, U),
        ("train-ai", U, U),
        ("train-ai=y, train-ai=n", D, U),
        ("train-ai=n, train-ai", U, U),
        ("train-ai;allow=n, train-ai=y", A, U),
        ("train-ai=n; search=y", D, U),
        ("train-ai = n", U, U),
        ("ai=n train-ai=n", U, U),
    ],
)
def test_aipref_vectors(value: str, train: Stance, search: Stance) -> None:
    # vocab-07 train-ai is generative training (section 3.2): genai-train in our uses.
    got = parse_content_usage(value).stances()
    assert (got.get(Use.GENAI_TRAIN, U), got.get(Use.SEARCH, U)) == (train, search)
    assert got.get(Use.AI_TRAIN, U) is U  # never reaches non-generative training


def test_aipref_parse_failure_flag() -> None:
    assert parse_content_usage("Train-AI=n").parse_failed
    assert not parse_content_usage("train-ai=no").parse_failed


def test_aipref_legacy_label_vocab01() -> None:
    prefs = parse_content_usage("ai=n")
    assert prefs.stances()[Use.AI_TRAIN] is D
    assert any("vocab-01" in p for p in prefs.problems)


ATTACH_EXAMPLE = """User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: train-ai=n
Content-Usage: /ai-ok/ train-ai=y

User-Agent: ExampleBot
Allow: /
Content-Usage: train-ai=y
"""


@pytest.mark.parametrize(
    ("agent", "path", "genai", "crawl"),
    [
        ("*", "/test", D, U),
        ("*", "/never/test", D, D),
        ("*", "/ai-ok/test", A, U),
        ("ExampleBot", "/anything", A, U),
    ],
)
def test_attach_example(agent: str, path: str, genai: Stance, crawl: Stance) -> None:
    r = assess_url(ORIGIN + path, site(ATTACH_EXAMPLE), options=AssessOptions(agent=agent))
    assert r.stances[Use.GENAI_TRAIN] is genai
    assert r.stances[Use.SEARCH] is crawl  # only /never/ is not crawlable
    usage = [v for v in r.verdicts if v.source == "robots.txt:content-usage"]
    if path.startswith("/never/"):
        assert usage and not usage[0].stances  # no preferences implied on disallowed paths


def test_robots_rule_without_leading_slash_is_a_parse_failure() -> None:
    r = assess_url(ORIGIN + "/a.mp3", site("User-agent: *\nContent-Usage: *.mp3 train-ai=n\n"))
    assert r.stances[Use.GENAI_TRAIN] is U


def test_identical_paths_conflicting_values_disallow_wins() -> None:
    robots = "User-agent: *\nContent-Usage: /a train-ai=n\nContent-Usage: /a train-ai=y\n"
    assert assess_url(ORIGIN + "/a", site(robots)).stances[Use.GENAI_TRAIN] is D


# -- 4.3 Content Signals -----------------------------------------------------------------


def test_content_signal_basic() -> None:
    r = assess_url(
        ORIGIN + "/x", site("User-Agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n")
    )
    assert stances(r.stances, Use.SEARCH, Use.AI_TRAIN, Use.AI_INPUT) == (A, D, U)


def test_content_signal_use_level() -> None:
    cs = parse_content_signal("search=yes,ai-train=no,use=reference")
    assert cs.use_level == "reference"
    assert cs.stances()[Use.AI_TRAIN] is D


def test_cloudflare_managed_gptbot_group_sees_no_signal() -> None:
    robots = (
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n\n"
        "User-agent: GPTBot\nDisallow: /\n"
    )
    r = assess_url(ORIGIN + "/x", site(robots), options=AssessOptions(agent="GPTBot"))
    assert not any(v.source == "robots.txt:content-signal" for v in r.verdicts)
    assert r.stances[Use.AI_TRAIN] is D  # from the crawl disallow


@pytest.mark.parametrize(("path", "expected"), [("/private/x", D), ("/public/x", U)])
def test_content_signal_path_scoped(path: str, expected: Stance) -> None:
    robots = "User-agent: *\nContent-Signal: /private/ ai-input=no\nAllow: /\n"
    assert assess_url(ORIGIN + path, site(robots)).stances[Use.AI_INPUT] is expected


def test_content_signal_case_lenient_with_warning() -> None:
    cs = parse_content_signal("AI-Train=No")
    assert cs.stances()[Use.AI_TRAIN] is D
    assert cs.problems


def test_ungrouped_content_signal_is_reported_and_ignored() -> None:
    r = assess_url(ORIGIN + "/x", site("Content-Signal: ai-train=no\nUser-agent: *\nAllow: /\n"))
    assert r.stances[Use.AI_TRAIN] is U
    assert any("outside any group" in p for v in r.verdicts for p in v.problems)


# -- 5.3 RSL -----------------------------------------------------------------------------


def _rsl(license_xml: str, url: str = ORIGIN + "/x", **kw: str) -> Mapping[Use, Stance]:
    doc = parse_rsl(
        f'<rsl xmlns="https://rslstandard.org/rsl"><content url="/">'
        f"<license>{license_xml}</license></content></rsl>"
    )
    return evaluate_rsl(doc, url, **kw).stances  # type: ignore[arg-type]


def test_rsl_prohibits_ai_train_only() -> None:
    got = _rsl('<prohibits type="usage">ai-train</prohibits>')
    assert stances(got, Use.AI_TRAIN, Use.GENAI_TRAIN, Use.SEARCH, Use.AI_INPUT) == (D, D, U, U)


def test_rsl_permits_is_a_closed_list() -> None:
    got = _rsl('<permits type="usage">search</permits>')
    assert stances(got, Use.SEARCH, Use.AI_TRAIN, Use.AI_INPUT, Use.TDM) == (A, D, D, D)


def test_rsl_prohibits_all() -> None:
    assert set(_rsl('<prohibits type="usage">all</prohibits>').values()) == {D}


def test_rsl_group_license_beats_global() -> None:
    robots = parse_robots(
        "License: https://b/\nUser-agent: GPTBot\nLicense: https://a/\nDisallow:\n"
    )
    assert licence_urls_from_robots(robots, "gptbot") == (["https://a/"], "group")
    assert licence_urls_from_robots(robots, "claudebot") == (["https://b/"], "global")


def test_rsl_unreachable_licence_is_unlicensed() -> None:
    s = site("License: https://l.example/license.xml\nUser-agent: *\nAllow: /\n")
    missing = Resource.make("https://l.example/license.xml", 404, TEXT, b"nf")
    r = assess_url(ORIGIN + "/x", s, licences={"https://l.example/license.xml": missing})
    assert stances(r.stances, Use.AI_TRAIN, Use.SEARCH) == (D, U)


def test_rsl_legacy_token_lenient_with_warning() -> None:
    doc = parse_rsl(
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        '<prohibits type="usage">train-ai</prohibits></license></content></rsl>'
    )
    ev = evaluate_rsl(doc, ORIGIN + "/x")
    assert ev.stances[Use.AI_TRAIN] is D
    assert any("train-ai" in p for p in ev.problems)


def test_rsl_geo_permits_do_not_reach_an_eu_trainer() -> None:
    xml = '<permits type="usage">ai-train</permits><permits type="geo">US</permits>'
    assert _rsl(xml, geo="EU")[Use.AI_TRAIN] is D
    assert _rsl(xml, geo="US")[Use.AI_TRAIN] is A
    assert _rsl(xml)[Use.AI_TRAIN] is D  # location unknown: the condition is not met


# -- 6.4 noai / noimageai ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "agent", "denied"),
    [
        (["noai"], "*", True),
        (["NoAI"], "*", True),
        (["noindex", "noai"], "*", True),
        (["GPTBot: noai, noimageai"], "otherbot", False),
        (["GPTBot: noai, noimageai"], "GPTBot", True),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST, noai"], "*", True),
        (["noindex"], "*", False),
    ],
)
def test_x_robots_tag_vectors(headers: list[str], agent: str, denied: bool) -> None:
    assert ("noai" in parse_x_robots_tag(headers).for_agent(agent)) is denied
    res = page("/a.jpg", [("Content-Type", "image/jpeg")] + [("X-Robots-Tag", h) for h in headers])
    r = assess_url(
        ORIGIN + "/a.jpg", SiteSignals.build(ORIGIN), res, options=AssessOptions(agent=agent)
    )
    assert (r.stances[Use.AI_TRAIN] is D) is denied


def test_meta_noimageai_reserves_images_not_page_text() -> None:
    html = '<html><head><meta name="robots" content="noimageai"></head></html>'
    r = assess_url(
        ORIGIN + "/p", SiteSignals.build(ORIGIN), page("/p", [("content-type", "text/html")], html)
    )
    assert r.stances[Use.AI_TRAIN] is U
    assert any("noimageai" in p for v in r.verdicts for p in v.problems)


def test_noarchive_is_noted() -> None:
    r = assess_url(
        ORIGIN + "/p", SiteSignals.build(ORIGIN), page("/p", [("X-Robots-Tag", "noarchive")])
    )
    assert any("noarchive" in p for v in r.verdicts for p in v.problems)


def test_meta_scoped_to_agent() -> None:
    html = '<html><head><meta name="GPTBot" content="noai"></head></html>'
    p = page("/p", [("content-type", "text/html")], html)
    gpt = assess_url(
        ORIGIN + "/p", SiteSignals.build(ORIGIN), p, options=AssessOptions(agent="GPTBot")
    )
    other = assess_url(
        ORIGIN + "/p", SiteSignals.build(ORIGIN), p, options=AssessOptions(agent="CCBot")
    )
    assert (gpt.stances[Use.AI_TRAIN], other.stances[Use.AI_TRAIN]) == (D, U)


# -- 7.1 ai.txt --------------------------------------------------------------------------

SPAWNING = "# Spawning AI\nUser-Agent: *\nDisallow: *.txt\nDisallow: *.mp3\nDisallow: *.wav\n"


@pytest.mark.parametrize(
    ("path", "disallowed"),
    [
        ("/a/t.mp3", True),
        ("/t.mp3x", True),
        ("/a.mp3/b", True),
        ("/x.flac", False),
        ("/y.wav", True),
    ],
)
def test_ai_txt_extension_patterns(path: str, disallowed: bool) -> None:
    # Section 7.1: standard wildcard matching makes "*.mp3" also match "/t.mp3x" (verified).
    assert (not parse_ai_txt(SPAWNING).match(ORIGIN + path).allowed) is disallowed


def test_ai_txt_denies_training_only() -> None:
    r = assess_url(ORIGIN + "/s.mp3", site(ai_txt=SPAWNING))
    assert stances(r.stances, Use.AI_TRAIN, Use.GENAI_TRAIN, Use.SEARCH) == (D, D, U)


def test_ai_txt_html_fallback_is_ignored() -> None:
    s = SiteSignals.build(
        ORIGIN,
        ai_txt=Resource.make(
            ORIGIN + "/ai.txt",
            200,
            [("content-type", "text/html")],
            b"<html><body>app</body></html>",
        ),
    )
    assert s.ai_txt is None
    assert any("HTML" in p for p in s.problems)


def test_url_path_keeps_query_and_drops_fragment() -> None:
    assert url_path("https://a.example/x/y?q=1#frag") == "/x/y?q=1"
