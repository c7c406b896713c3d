from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.robots_meta import parse_meta_robots, parse_x_robots_tag


def test_scoped_and_global_directives_across_instances() -> None:
    d = parse_x_robots_tag(["noindex", "GPTBot: NoAI, noimageai", "max-snippet: 20, noarchive"])
    assert d.everyone == {"noindex", "max-snippet", "noarchive"}
    assert d.for_agent("gptbot") >= {"noai", "noimageai"}
    assert "noai" not in d.for_agent("ccbot")


def test_meta_robots_and_agent_named_meta() -> None:
    d = parse_meta_robots([("robots", "noai, noimageai"), ("GPTBot", "noai"), ("description", "x")])
    assert d.everyone == {"noai", "noimageai"}
    assert d.for_agent("GPTBot") >= {"noai"}


@given(st.lists(st.text(max_size=80), max_size=5), st.text(max_size=20))
def test_never_raises(values: list[str], agent: str) -> None:
    d = parse_x_robots_tag(values)
    assert d.for_agent(agent) >= d.everyone
    parse_meta_robots([(agent, v) for v in values])
