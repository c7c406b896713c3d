from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.html_meta import parse_html_signals
from tdmguard.signals.rsl import (
    evaluate_rsl,
    licence_urls_from_html,
    licence_urls_from_link_headers,
    parse_link_header,
    parse_rsl,
)
from tdmguard.vocab import Stance, Use

DOC = """<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/" server="https://rslcollective.org/api">
    <license><prohibits type="usage">ai-train</prohibits>
      <permits type="usage">search, ai-input</permits>
      <payment type="use"><amount currency="EUR">0.01</amount></payment></license>
  </content>
  <content url="https://a.example/free/*">
    <license><permits type="usage">all</permits></license>
  </content>
</rsl>"""


def test_most_specific_content_and_payment_terms() -> None:
    doc = parse_rsl(DOC)
    free = evaluate_rsl(doc, "https://a.example/free/x")
    assert set(free.stances.values()) == {Stance.ALLOW}
    paid = evaluate_rsl(doc, "https://a.example/other")
    assert paid.stances[Use.AI_TRAIN] is Stance.DENY
    assert paid.stances[Use.SEARCH] is Stance.DENY  # licensable against payment, not free
    assert any("payment" in p for p in paid.problems)
    assert any("licence server" in p for p in paid.problems)
    assert evaluate_rsl(doc, "https://b.example/free/x").stances[Use.SEARCH] is Stance.DENY


def test_bare_content_root_and_unknown_elements() -> None:
    doc = parse_rsl(
        '<content xmlns="https://rslstandard.org/rsl" url="/"><license><bogus/>'
        "<prohibits>all</prohibits></license></content>"
    )
    assert doc.contents and any("unknown RSL element" in p for p in doc.problems)


def test_link_header_parsing() -> None:
    links = parse_link_header(
        '<a.xml>; rel="license"; type="application/rsl+xml", <https://x>; rel=next'
    )
    assert links == [
        ("a.xml", {"rel": "license", "type": "application/rsl+xml"}),
        ("https://x", {"rel": "next"}),
    ]
    headers = [
        ("Link", '</l.xml>; rel="license"; type="application/rsl+xml"'),
        ("link", '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'),
    ]
    assert licence_urls_from_link_headers(headers, "https://a.example/x") == [
        "https://a.example/l.xml"
    ]


def test_html_links_need_the_rsl_type() -> None:
    page = parse_html_signals(
        '<link rel="license" href="https://cc/by"><link rel="license" '
        'type="application/rsl+xml" href="/l.xml">'
    )
    assert licence_urls_from_html(page, "https://a.example/p") == ["https://a.example/l.xml"]


@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)), st.text(max_size=30))
def test_never_raises(data: str | bytes, url: str) -> None:
    evaluate_rsl(parse_rsl(data), url)
    parse_link_header(data if isinstance(data, str) else data.decode("latin-1"))


TOKENS = st.lists(
    st.sampled_from(["all", "ai-all", "ai-train", "ai-input", "ai-index", "search"]), max_size=3
)


@given(TOKENS, TOKENS)
def test_prohibits_beats_permits(permits: list[str], prohibits: list[str]) -> None:
    xml = (
        f'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        f'<permits type="usage">{" ".join(permits)}</permits>'
        f'<prohibits type="usage">{" ".join(prohibits)}</prohibits></license></content></rsl>'
    )
    got = evaluate_rsl(parse_rsl(xml), "https://a.example/x").stances
    if "all" in prohibits:
        assert set(got.values()) == {Stance.DENY}
    if "ai-train" in prohibits:
        assert got[Use.AI_TRAIN] is Stance.DENY
