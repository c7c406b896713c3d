"""XMP vectors of optout-protocols.md §8.1 and §1.5, plus hostile and malformed packets."""

from __future__ import annotations

import pytest

from tdmguard.signals.metadata import find_xmp_packet, read_xmp
from tdmguard.vocab import Stance, Use

RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
PLUS = 'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'


def packet(inner: str, extra_ns: str = "") -> bytes:
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {RDF}>'
        f'<rdf:Description rdf:about="" {PLUS} {extra_ns}>{inner}'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def denied(data: bytes) -> set[Use]:
    reading = read_xmp(data, locator="t")
    return {u for v in reading.verdicts for u, s in v.stances.items() if s is Stance.DENY}


def test_text_form_aiml_training() -> None:
    data = packet(
        "<plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING</plus:DataMining>"
    )
    assert denied(data) == {Use.AI_TRAIN, Use.GENAI_TRAIN}


def test_resource_form_prohibited_denies_everything() -> None:
    data = packet(
        '<plus:DataMining rdf:resource="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"/>'
    )
    assert denied(data) == set(Use)


def test_attribute_form() -> None:
    data = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {RDF}><rdf:Description rdf:about="" {PLUS}'
        ' plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    assert denied(data) == {Use.GENAI_TRAIN}


def test_bare_value_is_read_with_a_warning() -> None:
    reading = read_xmp(
        packet("<plus:DataMining>DMI-PROHIBITED-GENAIMLTRAINING</plus:DataMining>"), locator="t"
    )
    assert reading.verdicts[0].stance(Use.GENAI_TRAIN) is Stance.DENY
    assert any("prefix" in p for p in reading.problems)


def test_see_constraint_denies_unless_licensed() -> None:
    data = packet(
        "<plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-SEECONSTRAINT</plus:DataMining>"
    )
    assert denied(data) == set(Use)


def test_allowed_and_unspecified() -> None:
    allowed = read_xmp(
        packet("<plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-ALLOWED</plus:DataMining>"),
        locator="t",
    )
    assert all(allowed.verdicts[0].stance(u) is Stance.ALLOW for u in Use)
    unspecified = read_xmp(
        packet(
            "<plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-UNSPECIFIED</plus:DataMining>"
        ),
        locator="t",
    )
    assert all(unspecified.verdicts[0].stance(u) is Stance.UNKNOWN for u in Use)


@pytest.mark.parametrize("ns", ["http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#"])
def test_tdmrep_in_xmp_both_namespaces(ns: str) -> None:
    data = packet(
        "<tdm:reservation>1</tdm:reservation><tdm:policy>https://l.example/p.json</tdm:policy>",
        f'xmlns:tdm="{ns}"',
    )
    reading = read_xmp(data, locator="t")
    assert denied(data) == set(Use)
    assert reading.policy_url == "https://l.example/p.json"


def test_tdmrep_other_value_is_unset_with_a_problem() -> None:
    data = packet(
        "<tdm:reservation>yes</tdm:reservation>", 'xmlns:tdm="http://www.w3.org/ns/tdmrep/"'
    )
    reading = read_xmp(data, locator="t")
    assert denied(data) == set()
    assert any("neither 0 nor 1" in p for p in reading.problems)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<x:xmpmeta",
        b"\x00\xff\xfe garbage",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><x>&lol2;</x>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_malformed_and_hostile_packets_give_problems(data: bytes) -> None:
    reading = read_xmp(data, locator="f.jpg#XMP")
    assert reading.verdicts == ()
    assert reading.problems and reading.problems[0].startswith("f.jpg#XMP")


def test_oversized_packet_is_skipped() -> None:
    reading = read_xmp(b" " * (5 * 1024 * 1024), locator="t")
    assert reading.verdicts == () and "limit" in reading.problems[0]


def test_packet_scanning() -> None:
    inner = packet(
        '<plus:DataMining rdf:resource="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"/>'
    )
    assert find_xmp_packet(b"%PDF-1.7\nstuff " + inner + b" more") == inner
    assert find_xmp_packet(b"%PDF-1.7 nothing here") is None
