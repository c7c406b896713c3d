"""XMP reservations: IPTC PLUS ``plus:DataMining`` (optout-protocols.md §8.1) and TDMRep
``tdm:reservation`` / ``tdm:policy`` (§1.5, both the ``.../tdmrep/`` and ``.../tdmrep#``
namespaces), in element, attribute and ``rdf:resource`` forms.

Pure: takes the packet's bytes, returns verdicts and problems; malformed or hostile XML
(entity expansion, DTDs: refused by defusedxml) gives a problem, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from tdmguard.vocab import Evidence, Stance, Use, Verdict, covered_uses, uses_for_label

__all__ = ["MAX_XMP_BYTES", "XmpReading", "find_xmp_packet", "read_xmp"]

MAX_XMP_BYTES = 4 * 1024 * 1024
PARSER_VERSION = "tdmguard.signals.metadata.xmp/1"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
_PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
_TDM_NAMESPACES = ("http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#")
_PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class XmpReading:
    verdicts: tuple[Verdict, ...]
    problems: tuple[str, ...]
    policy_url: str = ""


def find_xmp_packet(data: bytes) -> bytes | None:
    """XMP packet scanning (XMP spec part 3 §1.1, for containers without a known XMP
    location, e.g. PDF): the first ``<x:xmpmeta>...</x:xmpmeta>`` in the bytes."""
    match = _PACKET.search(data)
    return match.group(0) if match else None


def _values(root: Element, namespaces: tuple[str, ...], name: str) -> Iterator[str]:
    """Every value of a simple property, in any RDF form: ``<ns:name>v</ns:name>``,
    ``<ns:name rdf:resource="v"/>``, ``<rdf:Description ns:name="v">``, or one ``rdf:li``
    deep (some writers wrap single values in a Bag or Alt)."""
    tags = {f"{{{ns}}}{name}" for ns in namespaces}
    for el in root.iter():
        for attr, value in el.attrib.items():
            if attr in tags:
                yield value
        if el.tag in tags:
            resource = el.attrib.get(f"{{{_RDF}}}resource")
            if resource is not None:
                yield resource
            elif el.text and el.text.strip():
                yield el.text
            else:
                for li in el.iter(f"{{{_RDF}}}li"):
                    yield li.attrib.get(f"{{{_RDF}}}resource", li.text or "")


def _deny(uses: frozenset[Use]) -> dict[Use, Stance]:
    return {u: Stance.DENY for u in covered_uses(uses)}


def _data_mining(root: Element, locator: str, problems: list[str]) -> Verdict | None:
    values = [v.strip() for v in _values(root, (_PLUS,), "DataMining")]
    if not values:
        return None
    value = values[0]
    if len(set(values)) > 1:
        problems.append(f"plus:DataMining has several values {values!r}; the first is read")
    label = value
    if value.startswith(_PLUS_VOCAB):
        label = value[len(_PLUS_VOCAB) :]
    elif value.upper().startswith("DMI-"):
        problems.append(f"plus:DataMining value {value!r} lacks the vocabulary URI prefix")
    stances: dict[Use, Stance]
    key = label.lower()
    if key == "dmi-allowed":
        stances = {u: Stance.ALLOW for u in Use}
    elif key == "dmi-unspecified":
        stances = {}
    elif uses := uses_for_label("iptc", key):
        stances = _deny(uses)
    else:
        problems.append(f"unknown plus:DataMining value {value!r}")
        stances = {}
    evidence = Evidence(
        "xmp:plus:DataMining", locator, raw=value[:200], parser_version=PARSER_VERSION
    )
    return Verdict("xmp:plus:DataMining", dict(stances), (evidence,))


def _tdm_reservation(
    root: Element, locator: str, problems: list[str]
) -> tuple[Verdict | None, str]:
    values = [v.strip() for v in _values(root, _TDM_NAMESPACES, "reservation")]
    policies = [v.strip() for v in _values(root, _TDM_NAMESPACES, "policy")]
    policy = policies[0] if policies else ""
    if not values:
        return None, policy
    value = values[0]
    stances: dict[Use, Stance]
    if value == "1":
        stances = _deny(uses_for_label("tdmrep", "1"))
    elif value == "0":
        stances = {u: Stance.ALLOW for u in Use}
    else:
        # TDMRep §1.1: any other value is a protocol error; the property reads as unset.
        problems.append(f"tdm:reservation value {value!r} is neither 0 nor 1 (read as unset)")
        stances = {}
    raw = f"tdm:reservation={value}" + (f"; tdm:policy={policy}" if policy else "")
    evidence = Evidence(
        "xmp:tdm:reservation", locator, raw=raw[:300], parser_version=PARSER_VERSION
    )
    return Verdict("xmp:tdm:reservation", dict(stances), (evidence,)), policy


def read_xmp(packet: bytes, *, locator: str) -> XmpReading:
    """Verdicts from one XMP packet; ``locator`` names where it was found (file and box)."""
    import defusedxml.ElementTree as SafeET  # the metadata extra; imported by the callers' gate

    if len(packet) > MAX_XMP_BYTES:
        return XmpReading(
            (), (f"{locator}: XMP packet of {len(packet)} bytes skipped (limit {MAX_XMP_BYTES})",)
        )
    body = packet.strip(b"\x00 \t\r\n")
    # The <?xpacket?> wrapper is a processing instruction the parser accepts as is.
    try:
        root: Any = SafeET.fromstring(body)
    except Exception as exc:  # ParseError, DTDForbidden, EntitiesForbidden, ...
        return XmpReading((), (f"{locator}: unreadable XMP ({type(exc).__name__}: {exc})",))
    problems: list[str] = []
    verdicts: list[Verdict] = []
    mining = _data_mining(root, locator, problems)
    if mining is not None:
        verdicts.append(mining)
    reservation, policy = _tdm_reservation(root, locator, problems)
    if reservation is not None:
        verdicts.append(reservation)
    return XmpReading(tuple(verdicts), tuple(f"{locator}: {p}" for p in problems), policy)
