from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.tdmrep import (
    MAX_TDMREP_BYTES,
    TdmLayer,
    layer_from_xmp,
    parse_tdmrep_json,
    resolve_layers,
)


def test_lenient_object_and_bad_rules() -> None:
    f = parse_tdmrep_json('{"location": "/", "tdm-reservation": 1}')
    assert f.lookup("/x") is not None and f.problems
    f = parse_tdmrep_json(
        '[1, {"tdm-reservation": 1}, {"location": "/a", "tdm-reservation": true}]'
    )
    assert len(f.problems) == 3
    assert f.lookup("/a") is not None and f.lookup("/a").reservation is None  # type: ignore[union-attr]


def test_not_json_and_too_big() -> None:
    assert parse_tdmrep_json(b"\xff{").problems
    assert parse_tdmrep_json(b"[" + b" " * (MAX_TDMREP_BYTES + 1) + b"]").problems


def test_resolve_reports_overrides() -> None:
    r = resolve_layers(
        [TdmLayer("tdmrep.json", 1, None, ""), TdmLayer("http-header", 0, "https://p", "")]
    )
    assert (r.reservation, r.policy) == (0, "https://p")
    assert r.overrides == ("TDMRep http-header 0 overrides tdmrep.json 1",)


def test_epub3_and_refused_doctype() -> None:
    opf = '<package><metadata><meta property="tdm:reservation">1</meta></metadata></package>'
    assert layer_from_xmp(opf).reservation == 1
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert layer_from_xmp(bomb).problems


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_never_raises_on_anything(data: str | bytes) -> None:
    parse_tdmrep_json(data)
    layer_from_xmp(data)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["location", "tdm-reservation", "tdm-policy", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(JSONISH, st.text("/ab*$", max_size=8))
def test_never_raises_on_any_json(doc: object, path: str) -> None:
    f = parse_tdmrep_json(json.dumps(doc))
    rule = f.lookup("/" + path)
    assert rule is None or rule.reservation in (None, 0, 1)
