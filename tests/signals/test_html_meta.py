from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.html_meta import MAX_HTML_BYTES, parse_html_signals


def test_reads_meta_link_and_inline_rsl() -> None:
    page = parse_html_signals(
        '<html><head><META NAME="TDM-Reservation" content="1"><link rel="License Alternate" '
        'href="/l.xml" type="Application/RSL+XML"><script type="application/rsl+xml">'
        "<rsl/></script></head></html>"
    )
    assert page.meta("tdm-reservation")[0].content == "1"
    assert (
        page.links[0].rel == {"license", "alternate"}
        and page.links[0].type == "application/rsl+xml"
    )
    assert page.rsl_scripts == ("<rsl/>",)


def test_huge_page_is_cut_and_unknown_encoding_tolerated() -> None:
    page = parse_html_signals(
        b"<meta name=robots content=noai>" + b" " * MAX_HTML_BYTES, encoding="nope"
    )
    assert page.meta("robots") and page.problems


@given(st.one_of(st.text(max_size=500), st.binary(max_size=500)))
def test_never_raises(data: str | bytes) -> None:
    parse_html_signals(data)
