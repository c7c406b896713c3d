"""Builds the XMP packet ``stamp`` embeds: IPTC PLUS ``plus:DataMining`` (§8.1), TDMRep
``tdm:reservation`` / ``tdm:policy`` in the PDF-XMP namespace (§1.5), and the IPTC Photo
Metadata rights fields (Copyright Notice ``dc:rights``, Rights Usage Terms
``xmpRights:UsageTerms``, Web Statement ``xmpRights:WebStatement``, Licensor
``plus:Licensor``, Other Constraints ``plus:OtherConstraints``).

An existing packet is kept: the properties written here are removed from it and one new
``rdf:Description`` holding them is added, so other metadata survives a stamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from tdmguard.declare.labels import iptc_data_mining, tdm_reservation
from tdmguard.errors import InputError, MissingExtraError
from tdmguard.vocab import Use

__all__ = ["NS", "XmpRights", "build_xmp_packet", "xmp_property_names"]

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "tdm": "http://www.w3.org/ns/tdmrep/",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
_MAX_EXISTING_BYTES = 4 * 1024 * 1024


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclass(frozen=True, slots=True)
class XmpRights:
    """The values of one stamp."""

    holder: str
    reserved_uses: frozenset[Use]
    copyright_notice: str
    usage_terms: str
    web_statement: str
    licensing_url: str
    contact_email: str
    policy_url: str


def xmp_property_names(rights: XmpRights) -> tuple[str, ...]:
    """Qualified names (``prefix:Name``) of the properties :func:`build_xmp_packet` sets."""
    names = ["plus:DataMining", "plus:OtherConstraints", "plus:Licensor", "dc:rights",
             "xmpRights:Marked", "xmpRights:UsageTerms", "xmpRights:WebStatement"]  # fmt: skip
    if tdm_reservation(rights.reserved_uses):
        names += ["tdm:reservation", "tdm:policy"]
    return tuple(names)


def _lang_alt(parent: ET.Element, text: str) -> None:
    alt = ET.SubElement(parent, _q("rdf", "Alt"))
    li = ET.SubElement(alt, _q("rdf", "li"), {_q("xml", "lang"): "x-default"})
    li.text = text


def _description(rights: XmpRights) -> ET.Element:
    desc = ET.Element(_q("rdf", "Description"), {_q("rdf", "about"): ""})
    value = iptc_data_mining(rights.reserved_uses)
    if value is not None:
        # Resource form, as the PLUS vocabulary values are URIs (§8.1).
        ET.SubElement(desc, _q("plus", "DataMining"), {_q("rdf", "resource"): PLUS_VOCAB + value})
    _lang_alt(
        ET.SubElement(desc, _q("plus", "OtherConstraints")),
        f"Licence required; see {rights.licensing_url} ({rights.contact_email})",
    )
    seq = ET.SubElement(ET.SubElement(desc, _q("plus", "Licensor")), _q("rdf", "Seq"))
    licensor = ET.SubElement(seq, _q("rdf", "li"), {_q("rdf", "parseType"): "Resource"})
    ET.SubElement(licensor, _q("plus", "LicensorName")).text = rights.holder
    ET.SubElement(licensor, _q("plus", "LicensorEmail")).text = rights.contact_email
    ET.SubElement(licensor, _q("plus", "LicensorURL")).text = rights.licensing_url
    _lang_alt(ET.SubElement(desc, _q("dc", "rights")), rights.copyright_notice)
    ET.SubElement(desc, _q("xmpRights", "Marked")).text = "True"
    _lang_alt(ET.SubElement(desc, _q("xmpRights", "UsageTerms")), rights.usage_terms)
    ET.SubElement(desc, _q("xmpRights", "WebStatement")).text = rights.web_statement
    if tdm_reservation(rights.reserved_uses):
        ET.SubElement(desc, _q("tdm", "reservation")).text = "1"
        ET.SubElement(desc, _q("tdm", "policy")).text = rights.policy_url
    return desc


def _strip(root: ET.Element, names: Iterable[str]) -> ET.Element:
    """The existing packet's ``rdf:RDF`` with our properties removed (element and
    attribute forms)."""
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise InputError("XMP packet without rdf:RDF")
    qualified = {_q(*n.split(":")) for n in names}
    for desc in rdf.findall(_q("rdf", "Description")):
        for child in list(desc):
            if child.tag in qualified:
                desc.remove(child)
        for attr in list(desc.attrib):
            if attr in qualified:
                del desc.attrib[attr]
        if len(desc) == 0 and set(desc.attrib) <= {_q("rdf", "about")}:
            rdf.remove(desc)  # emptied by the strip: an earlier stamp's own description
    return rdf


def build_xmp_packet(rights: XmpRights, existing: bytes | None = None) -> bytes:
    """A complete XMP packet (with ``<?xpacket?>`` wrapper and padding, UTF-8).

    Raises :class:`InputError` if ``existing`` is not a parseable XMP packet (a stamp must
    not throw away metadata it cannot read)."""
    try:
        import defusedxml.ElementTree as SafeET
    except ImportError as exc:
        raise MissingExtraError("defusedxml", "metadata") from exc
    for prefix, uri in NS.items():
        if prefix != "xml":
            ET.register_namespace(prefix, uri)
    if existing and existing.strip(b"\x00 \t\r\n"):
        if len(existing) > _MAX_EXISTING_BYTES:
            raise InputError(f"existing XMP packet too large ({len(existing)} bytes)")
        try:
            parsed = SafeET.fromstring(existing.strip(b"\x00 \t\r\n"))
        except Exception as exc:  # defusedxml raises ParseError or its own refusals
            raise InputError(f"existing XMP packet is not readable XML: {exc}") from exc
        rdf = _strip(parsed, xmp_property_names(rights))
        meta = parsed if parsed.tag == _q("x", "xmpmeta") else ET.Element(_q("x", "xmpmeta"))
        if meta is not parsed:
            meta.append(rdf)
    else:
        meta = ET.Element(_q("x", "xmpmeta"))
        rdf = ET.SubElement(meta, _q("rdf", "RDF"))
    rdf.append(_description(rights))
    body = ET.tostring(meta, encoding="unicode")
    # XMP spec part 1 §7.3: the wrapper; "w" = writeable in place, padding allows edits.
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + body
        + "\n"
        + (" " * 99 + "\n") * 20
        + '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")
