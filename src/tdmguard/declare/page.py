"""The human-readable declaration page: the reservation in words (who, what, which uses,
from when, how to license), with the machine-readable HTML signals in its head (TDMRep
``<meta>`` §1.4, robots ``noai`` §6.1, RSL ``<link rel="license">`` §5.1).

OLG Hamburg (2025) read a prose-only opt-out as not machine-readable; this page is the
prose half and names every machine-readable channel the bundle publishes next to it.
"""

from __future__ import annotations

from html import escape

from tdmguard.declare.declaration import HolderDeclaration
from tdmguard.declare.labels import ROBOTS_META_LABELS, labels_for, tdm_reservation
from tdmguard.vocab import Purpose, Use

__all__ = ["render_declaration_page"]

_USE_WORDS = {
    Use.TDM: "text and data mining of any kind (Art. 2(2) and 4 of Directive (EU) 2019/790)",
    Use.AI_TRAIN: "training, fine-tuning or evaluating any machine-learning or AI model",
    Use.GENAI_TRAIN: "training generative AI models",
    Use.AI_INPUT: "use as input to AI systems (inference, retrieval-augmented generation,"
    " grounding)",
    Use.SEARCH: "search-engine indexing",
}


def render_declaration_page(decl: HolderDeclaration) -> str:
    e = escape
    head = [
        '<meta charset="utf-8">',
        f"<title>Reservation of rights: {e(decl.holder)}</title>",
        f'<link rel="license" type="application/rsl+xml" href="{e(decl.licence_url)}">',
    ]
    if tdm_reservation(decl.reserved_uses):
        head.append('<meta name="tdm-reservation" content="1">')
        head.append(f'<meta name="tdm-policy" content="{e(decl.policy_url)}">')
    meta = labels_for("robots-meta", ROBOTS_META_LABELS, decl.reserved_uses)
    if meta:
        head.append(f'<meta name="robots" content="{e(", ".join(meta))}">')
    uses = "".join(f"<li>{e(_USE_WORDS[u])}</li>" for u in Use if u in decl.reserved_uses)
    research = (
        "The reservation also applies to scientific research."
        if Purpose.RESEARCH in decl.purposes
        else "Text and data mining for scientific research by research organisations and"
        " cultural heritage institutions (Art. 3 of Directive (EU) 2019/790) is not affected."
    )
    paths = "".join(f"<li><code>{e(decl.base_url + p)}</code></li>" for p in decl.reserved_paths)
    rows = "".join(
        f"<tr><td>{e(w.work_id)}</td><td>{e(w.title)}</td><td>{e(w.isrc)}</td><td>{e(w.iswc)}</td></tr>"
        for w in decl.works
    )
    works = (
        "<table><thead><tr><th>Work</th><th>Title</th><th>ISRC</th><th>ISWC</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if decl.works
        else "<p>All works of the holder, including those added after this date.</p>"
    )
    day = decl.effective_from.isoformat()
    body = f"""<h1>Reservation of rights against text and data mining and AI training</h1>
<p><strong>{e(decl.holder)}</strong> expressly reserves its rights under Article 4(3) of
Directive (EU) 2019/790 and all other applicable law. Without a licence, the following uses
of its recordings, compositions, lyrics, melodies, artwork and metadata are not permitted:</p>
<ul>{uses}</ul>
<p>{research} The reservation covers copies from which identifying metadata has been removed
or altered.</p>
<h2>Scope</h2>
<p>Content at:</p>
<ul>{paths}</ul>
<h2>Works</h2>
{works}
<h2>Effective date</h2>
<p>This reservation has effect from <time datetime="{day}">{day}</time> until withdrawn.</p>
<h2>Licensing</h2>
<p>To request a licence, see <a href="{e(decl.licensing_url)}">{e(decl.licensing_url)}</a>
or write to <a href="mailto:{e(decl.contact_email)}">{e(decl.contact_email)}</a>.</p>
<h2>Machine-readable forms of this reservation</h2>
<ul>
<li><code>/robots.txt</code> (AI crawler groups, <code>Content-Usage</code>,
<code>Content-Signal</code>, <code>License</code>)</li>
<li><code>/.well-known/tdmrep.json</code> and the TDM policy <code>{e(decl.policy_url)}</code></li>
<li>the RSL licence <code>{e(decl.licence_url)}</code> and <code>/ai.txt</code></li>
<li>HTTP headers <code>tdm-reservation</code>, <code>Content-Usage</code>,
<code>X-Robots-Tag</code> on every reserved response</li>
<li>embedded metadata (XMP <code>plus:DataMining</code>, ID3 / Vorbis / MP4 tags) in the
files themselves</li>
</ul>"""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n'
        + "\n".join(head)
        + "\n</head>\n<body>\n"
        + body
        + "\n</body>\n</html>\n"
    )
