from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.ai_txt import parse_ai_txt


def test_allow_line_for_a_type() -> None:
    ai = parse_ai_txt("User-Agent: *\nDisallow: /\nAllow: *.txt\n")
    assert ai.match("https://a/x.txt").allowed
    assert not ai.match("https://a/x.mp3").allowed


@given(st.one_of(st.text(max_size=500), st.binary(max_size=500)), st.text(max_size=40))
def test_never_raises(data: str | bytes, url: str) -> None:
    parse_ai_txt(data).match(url)
