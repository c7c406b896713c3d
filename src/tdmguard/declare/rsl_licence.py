"""The RSL licence document (RSL 1.0, optout-protocols.md §5.2): one ``<content>`` per
reserved path, whose ``<license>`` prohibits the reserved usage tokens and points to the
licensing terms and contact."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from tdmguard.declare.declaration import HolderDeclaration
from tdmguard.declare.labels import RSL_LABELS, labels_for

__all__ = ["RSL_NAMESPACE", "render_rsl_xml", "rsl_prohibited"]

RSL_NAMESPACE = "https://rslstandard.org/rsl"


def rsl_prohibited(decl: HolderDeclaration) -> tuple[str, ...]:
    return labels_for("rsl", RSL_LABELS, decl.reserved_uses)


def render_rsl_xml(decl: HolderDeclaration) -> str:
    ET.register_namespace("", RSL_NAMESPACE)
    ns = f"{{{RSL_NAMESPACE}}}"
    root = ET.Element(f"{ns}rsl")
    tokens = " ".join(rsl_prohibited(decl))  # 1.0 lists are space-separated (§5.2)
    for path in decl.reserved_paths:
        content = ET.SubElement(root, f"{ns}content", {"url": path})
        licence = ET.SubElement(content, f"{ns}license")
        if tokens:
            ET.SubElement(licence, f"{ns}prohibits", {"type": "usage"}).text = tokens
        # Where a licence for the prohibited uses can be had, and from whom (§5.2).
        ET.SubElement(content, f"{ns}terms").text = decl.licensing_url
        ET.SubElement(
            content,
            f"{ns}copyright",
            {
                "type": "organization",
                "contactEmail": decl.contact_email,
                "contactUrl": decl.licensing_url,
            },
        ).text = decl.holder
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
