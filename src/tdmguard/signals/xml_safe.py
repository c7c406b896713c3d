"""XML reading for untrusted signal documents (RSL licences, XMP packets): the stdlib
parser with document type declarations refused, so no entity expansion or external
entity can be triggered, and a size cap. A document cut by a size limit (or broken part
way) can be read as far as it is complete (``partial=True``): only elements whose end tag
was read are kept, so a half-read element never passes for a whole one."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from typing import Any

__all__ = ["MAX_XML_BYTES", "parse_xml"]

MAX_XML_BYTES = 1024 * 1024


def parse_xml(
    data: str | bytes, *, max_bytes: int = MAX_XML_BYTES, partial: bool = False
) -> tuple[ET.Element | None, str]:
    """The root element, or None and the reason. Never raises. With ``partial``, a
    document over ``max_bytes`` is cut there, and a cut or broken document gives the
    root with its complete elements plus the reason it is incomplete."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    cut = ""
    if len(raw) > max_bytes:
        if not partial:
            return None, f"XML document is {len(raw)} bytes, over the {max_bytes}-byte limit"
        cut = f"XML document is {len(raw)} bytes, cut at {max_bytes}"
        raw = raw[:max_bytes]
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        return None, "XML document has a DOCTYPE/ENTITY declaration; refused"
    try:
        root = ET.fromstring(raw)
        return root, cut
    except ET.ParseError as exc:
        if not partial:
            return None, f"not well-formed XML: {exc}"
        reason = f"not well-formed XML: {exc}"
    except (ValueError, RecursionError) as exc:
        return None, f"unreadable XML: {exc}"[:200]
    prefix = _complete_prefix(raw)
    if prefix is None:
        return None, reason
    return prefix, (cut + "; " if cut else "") + f"{reason}: only its complete elements were read"


def _complete_prefix(raw: bytes) -> ET.Element | None:
    parser: Any = ET.XMLPullParser(events=("start", "end"))
    seen: list[ET.Element] = []  # the root first
    ended: set[int] = set()

    def drain() -> None:
        try:  # read_events() re-raises the error that stopped feed()
            for event, elem in parser.read_events():
                if not isinstance(elem, ET.Element):
                    continue
                if not seen:
                    seen.append(elem)
                if event == "end":
                    ended.add(id(elem))
        except (ET.ParseError, ValueError, RecursionError):
            return

    with contextlib.suppress(ET.ParseError, ValueError, RecursionError):
        parser.feed(raw)
    drain()
    if not seen:
        return None
    root = seen[0]
    _prune(root, ended)
    return root


def _prune(elem: ET.Element, ended: set[int]) -> None:
    """Drop the children whose end tag was never read (iteratively: no recursion limit)."""
    stack = [elem]
    while stack:
        node = stack.pop()
        for child in list(node):
            if id(child) in ended:
                stack.append(child)
            else:
                node.remove(child)
