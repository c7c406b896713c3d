"""W3C TDM Reservation Protocol (optout-protocols.md section 1): ``/.well-known/tdmrep.json``
(first matching rule wins, section 1.2), ``tdm-reservation`` / ``tdm-policy`` headers
(section 1.3) and HTML meta (section 1.4), layered as section 1.6 says: each later layer
supersedes the earlier one, and an absent value never resets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from tdmguard.signals.headers import HeaderPairs, header_values
from tdmguard.signals.html_meta import HtmlSignals
from tdmguard.signals.robots import escape_pattern, pattern_matches

__all__ = [
    "MAX_TDMREP_BYTES",
    "TdmLayer",
    "TdmRepFile",
    "TdmRepResult",
    "TdmRepRule",
    "layer_from_headers",
    "layer_from_html",
    "layer_from_rule",
    "layer_from_xmp",
    "parse_tdmrep_json",
    "resolve_layers",
]

# Not robots.txt: RFC 9309's 500 KiB limit is not TDMRep's. A larger file is cut here and
# the complete rules before the cut are read (first match wins, so a prefix of the rules
# answers every path its rules match exactly as the whole file would).
MAX_TDMREP_BYTES = 8 * 1024 * 1024
_MAX_RULES = 100_000


@dataclass(frozen=True, slots=True)
class TdmRepRule:
    location: str
    reservation: int | None  # 1, 0 or None (a protocol error reads as unset)
    policy: str | None
    index: int  # position in the array (0-based)


@dataclass(frozen=True, slots=True)
class TdmRepFile:
    rules: tuple[TdmRepRule, ...]
    problems: tuple[str, ...]

    def lookup(self, path: str) -> TdmRepRule | None:
        """Section 1.2: "the most specific match is the first in sequence": the first rule
        whose location matches ``path`` (robots.txt wildcards, case-sensitive)."""
        for rule in self.rules:
            if pattern_matches(escape_pattern(rule.location), path):
                return rule
        return None


@dataclass(frozen=True, slots=True)
class TdmLayer:
    """One layer's reading: ``reservation`` None when absent or invalid."""

    name: str  # "tdmrep.json", "http-header", "html-meta"
    reservation: int | None
    policy: str | None
    raw: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TdmRepResult:
    reservation: int | None
    policy: str | None
    decided_by: TdmLayer | None  # the layer whose reservation stands
    overrides: tuple[str, ...]  # "http-header 0 overrides tdmrep.json 1", ...


def _reservation(value: object) -> tuple[int | None, str | None]:
    """Section 1.1: only 0 and 1 are values; anything else is a protocol error (unset)."""
    if isinstance(value, bool):
        return None, f"tdm-reservation {value!r} is not 0 or 1 (protocol error: unset)"
    if isinstance(value, int) and value in (0, 1):
        return value, None
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return None, f"tdm-reservation {value!r} is a string, not 0 or 1 (non-conformant: unset)"
    return None, f"tdm-reservation {str(value)[:40]!r} is not 0 or 1 (protocol error: unset)"


def parse_tdmrep_json(data: str | bytes) -> TdmRepFile:
    """Parse ``tdmrep.json``: a JSON array of ``{location, tdm-reservation, tdm-policy}``.
    Never raises; a non-array or an unparseable body gives no rules plus a problem."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
    cut: list[str] = []
    if len(raw) > MAX_TDMREP_BYTES:
        cut.append(f"tdmrep.json is {len(raw)} bytes; cut at {MAX_TDMREP_BYTES}")
        raw = raw[:MAX_TDMREP_BYTES]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not cut or exc.start < len(raw) - 4:  # a character split by the cut is fine
            return TdmRepFile((), (f"tdmrep.json is not UTF-8: {exc}"[:200],))
        text = raw[: exc.start].decode("utf-8-sig")
    try:
        doc: object = json.loads(text)
    except (ValueError, RecursionError) as exc:
        salvaged = _complete_rules(text)
        if salvaged is None:
            return TdmRepFile((), (*cut, f"tdmrep.json is not JSON: {exc}"[:200]))
        doc = salvaged
        cut.append(
            f"tdmrep.json is cut or malformed after rule {len(salvaged)} ({exc}"[:160]
            + "): the complete rules before it were read"
        )
    file = _rules_from(doc)
    return TdmRepFile(file.rules, (*cut, *file.problems)) if cut else file


def _complete_rules(text: str) -> list[object] | None:
    """The complete elements at the start of a JSON array whose end is missing or broken
    (a body cut by a size limit); None when not even one element is complete."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        return None
    pos += 1
    items: list[object] = []
    while len(items) < _MAX_RULES:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        items.append(item)
    return items or None


def _rules_from(doc: object) -> TdmRepFile:
    if isinstance(doc, dict):
        doc = [doc]
        problems = [
            "tdmrep.json is an object, not an array (brackets are mandatory); read leniently"
        ]
    elif isinstance(doc, list):
        problems = []
    else:
        return TdmRepFile((), ("tdmrep.json is not an array of rules",))
    rules: list[TdmRepRule] = []
    for i, item in enumerate(doc[:_MAX_RULES]):
        if not isinstance(item, dict):
            problems.append(f"rule {i}: not an object, skipped")
            continue
        location = item.get("location")
        if not isinstance(location, str) or not location:
            problems.append(f"rule {i}: no location, skipped")
            continue
        if "tdm-reservation" not in item:
            problems.append(f"rule {i}: no tdm-reservation (mandatory)")
            reservation = None
        else:
            reservation, problem = _reservation(item["tdm-reservation"])
            if problem:
                problems.append(f"rule {i}: {problem}")
        policy = item.get("tdm-policy")
        if policy is not None and not isinstance(policy, str):
            problems.append(f"rule {i}: tdm-policy is not a URL string, ignored")
            policy = None
        rules.append(TdmRepRule(location, reservation, policy, i))
    if len(doc) > _MAX_RULES:
        problems.append(f"tdmrep.json has {len(doc)} rules; only the first {_MAX_RULES} were read")
    return TdmRepFile(tuple(rules), tuple(problems))


def _layer(name: str, reservations: Sequence[str], policies: Sequence[str]) -> TdmLayer:
    problems: list[str] = []
    reservation: int | None = None
    raw_parts: list[str] = []
    if reservations:
        value = reservations[-1].strip()
        raw_parts.append(f"tdm-reservation: {value}")
        if len(set(v.strip() for v in reservations)) > 1:
            problems.append(f"{name}: several different tdm-reservation values; the last is read")
        if value in ("0", "1"):
            reservation = int(value)
        else:
            problems.append(
                f"{name}: tdm-reservation {value[:40]!r} is not 0 or 1 (protocol error: unset)"
            )
    policy = policies[-1].strip() if policies else None
    if policy:
        raw_parts.append(f"tdm-policy: {policy}")
    return TdmLayer(name, reservation, policy or None, "; ".join(raw_parts), tuple(problems))


def layer_from_headers(headers: HeaderPairs) -> TdmLayer:
    return _layer(
        "http-header",
        header_values(headers, "tdm-reservation"),
        header_values(headers, "tdm-policy"),
    )


def layer_from_html(page: HtmlSignals) -> TdmLayer:
    return _layer(
        "html-meta",
        [m.content for m in page.meta("tdm-reservation")],
        [m.content for m in page.meta("tdm-policy")],
    )


def layer_from_rule(rule: TdmRepRule | None) -> TdmLayer:
    if rule is None:
        return TdmLayer("tdmrep.json", None, None, "")
    raw = (
        f'{{"location": "{rule.location}", "tdm-reservation": {rule.reservation}}}'
        f" (rule {rule.index})"
    )
    return TdmLayer("tdmrep.json", rule.reservation, rule.policy, raw)


def resolve_layers(layers: Sequence[TdmLayer]) -> TdmRepResult:
    """Section 1.6: file < header < HTML meta < embedded; a later value supersedes, an
    absent one never resets. Overrides of a different earlier value are reported."""
    reservation: int | None = None
    policy: str | None = None
    decided: TdmLayer | None = None
    overrides: list[str] = []
    for layer in layers:
        if layer.reservation is not None:
            if decided is not None and reservation != layer.reservation:
                overrides.append(
                    f"TDMRep {layer.name} {layer.reservation} overrides"
                    f" {decided.name} {reservation}"
                )
            reservation, decided = layer.reservation, layer
        if layer.policy:
            policy = layer.policy
    return TdmRepResult(reservation, policy, decided, tuple(overrides))


_TDM_NAMESPACES = ("http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#")


def layer_from_xmp(data: str | bytes) -> TdmLayer:
    """Section 1.5: ``tdm:reservation`` / ``tdm:policy`` in an XMP packet (PDF) or an OPF
    package (EPUB 3), under either namespace URI the spec uses (slash and hash, test vector
    T10), as elements or as attributes. Never raises."""
    from tdmguard.signals.xml_safe import parse_xml

    root, problem = parse_xml(data)
    if root is None:
        return TdmLayer("embedded", None, None, "", (problem,))
    reservations: list[str] = []
    policies: list[str] = []
    for el in root.iter():
        for ns in _TDM_NAMESPACES:
            if el.tag == f"{{{ns}}}reservation" and el.text:
                reservations.append(el.text)
            elif el.tag == f"{{{ns}}}policy" and el.text:
                policies.append(el.text)
            if f"{{{ns}}}reservation" in el.attrib:
                reservations.append(el.attrib[f"{{{ns}}}reservation"])
            if f"{{{ns}}}policy" in el.attrib:
                policies.append(el.attrib[f"{{{ns}}}policy"])
        # EPUB 3: <meta property="tdm:reservation">1</meta> (prefix declared on <package>).
        prop = el.attrib.get("property", "")
        if prop == "tdm:reservation" and el.text:
            reservations.append(el.text)
        elif prop == "tdm:policy" and el.text:
            policies.append(el.text)
    return _layer("embedded", reservations, policies)
