from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from protego import Protego

from tdmguard.signals.robots import (
    MAX_ROBOTS_BYTES,
    RuleKind,
    escape_pattern,
    parse_robots,
    pattern_matches,
    product_token,
    url_path,
)


def test_groups_extensions_and_global_records() -> None:
    robots = parse_robots(
        "License: https://l/\nSitemap: https://s/\nUser-agent: A\nUser-agent: B\n"
        "Content-Signal: ai-train=no\nDisallow: /x\nContent-Usage: train-ai=n\n"
        "User-agent: *\nAllow: /\n"
    )
    assert [g.agents for g in robots.groups] == [("a", "b"), ("*",)]
    assert robots.global_extensions[0].field == "license"
    assert robots.sitemaps == ("https://s/",)
    assert [e.field for e in robots.select("B").extensions("content-signal")] == ["content-signal"]
    assert robots.select("c").specific is False


def test_content_usage_is_a_rule_that_closes_the_user_agent_lines() -> None:
    robots = parse_robots("User-agent: a\nContent-Usage: train-ai=n\nUser-agent: b\nDisallow: /\n")
    assert [g.agents for g in robots.groups] == [("a",), ("b",)]


def test_missing_colon_and_typos_are_tolerated() -> None:
    robots = parse_robots("user-agent foo\ndissallow /private\n")
    assert not robots.match("/private/x", "foo").allowed


def test_lines_are_cut_and_problems_recorded() -> None:
    robots = parse_robots("User-agent: *\nDisallow: /" + "a" * 20_000 + "\nwhat is this line\n")
    assert any("longer than" in p for p in robots.problems)
    assert any("not a record" in p for p in robots.problems)


def test_oversized_file_is_cut_at_500_kib() -> None:
    body = b"User-agent: *\n" + b"Disallow: /x\n" * 60_000
    robots = parse_robots(body)
    assert robots.size_bytes == len(body) > MAX_ROBOTS_BYTES
    assert any("500 KiB" in p for p in robots.problems)


def test_escape_pattern_and_product_token() -> None:
    assert escape_pattern("/ツ") == "/%E3%83%84"
    assert escape_pattern("/a%2fb") == "/a%2Fb"
    assert escape_pattern("/100%") == "/100%"
    assert product_token("MistralAI-User/1.0") == "MistralAI-User"
    assert product_token("ChatGPT Agent") == "ChatGPT"


def test_url_path_forms() -> None:
    assert url_path("http://a.b") == "/"
    assert url_path("http://a.b?x") == "/?x"
    assert url_path("http://a.b/c;p?q#f") == "/c;p?q"
    assert url_path("//a.b/c") == "/c"
    assert url_path("/just/a/path") == "/just/a/path"


def test_invalid_utf8_bytes_are_escaped_not_fatal() -> None:
    robots = parse_robots(b"User-agent: *\nDisallow: /\xff\xfe\n")
    assert robots.groups[0].rules[0].pattern == "/%FF%FE"


# -- properties --------------------------------------------------------------------------

ROBOTS_CHARS = st.sampled_from(list("UuSsEeRr-AaGgNnTtDdIiLlOoWw:*$/?#\n\r\t =%.ab"))


@given(
    st.one_of(st.binary(max_size=2000), st.text(max_size=2000), st.text(ROBOTS_CHARS, max_size=400))
)
def test_never_raises(data: bytes | str) -> None:
    robots = parse_robots(data)
    for agent in ("a", "*", "GPTBot", ""):
        m = robots.match("/a/b?c", agent)
        assert m.allowed is (m.rule is None or m.rule.kind is RuleKind.ALLOW)


def _regex(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    return re.compile(
        ".*".join(re.escape(p) for p in body.split("*")) + (r"\Z" if anchored else ""), re.S
    )


@given(st.text("ab*/$", max_size=12), st.text("ab/$", max_size=12))
def test_pattern_matching_agrees_with_a_regex_oracle(pattern: str, path: str) -> None:
    if not pattern or "$" in pattern[:-1]:
        return
    assert pattern_matches(pattern, path) is bool(_regex(pattern).match(path))


TOKENS = st.sampled_from(["alpha", "beta", "*"])
RULE = st.tuples(st.sampled_from(["Allow", "Disallow"]), st.text("ab/*.", min_size=1, max_size=6))
GROUP = st.tuples(st.lists(TOKENS, min_size=1, max_size=2), st.lists(RULE, max_size=4))


@settings(max_examples=200)
@given(
    st.lists(GROUP, max_size=4),
    st.sampled_from(["alpha", "beta", "gamma"]),
    st.text("ab/.", max_size=8),
)
def test_agrees_with_protego_outside_the_documented_deviations(groups, agent, path) -> None:  # type: ignore[no-untyped-def]
    """Plain ASCII patterns, exact tokens, no '%', '$' or /robots.txt: protego and we agree."""
    text = "".join(
        "".join(f"User-agent: {t}\n" for t in agents) + "".join(f"{k}: /{v}\n" for k, v in rules)
        for agents, rules in groups
    )
    path = "/" + path
    ours = parse_robots(text).match(path, agent).allowed
    theirs = Protego.parse(text).can_fetch("http://x" + path, agent)
    assert ours is theirs, text
