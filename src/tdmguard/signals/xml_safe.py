"""XML reading for untrusted signal documents (RSL licences, XMP packets): the stdlib
parser with document type declarations refused, so no entity expansion or external
entity can be triggered, and a size cap."""

from __future__ import annotations

import xml.etree.ElementTree as ET

__all__ = ["MAX_XML_BYTES", "parse_xml"]

MAX_XML_BYTES = 1024 * 1024


def parse_xml(data: str | bytes) -> tuple[ET.Element | None, str]:
    """The root element, or None and the reason. Never raises."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_XML_BYTES:
        return None, f"XML document is {len(raw)} bytes, over the 1 MiB limit"
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        return None, "XML document has a DOCTYPE/ENTITY declaration; refused"
    try:
        return ET.fromstring(raw), ""
    except ET.ParseError as exc:
        return None, f"not well-formed XML: {exc}"
    except (ValueError, RecursionError) as exc:
        return None, f"unreadable XML: {exc}"[:200]
