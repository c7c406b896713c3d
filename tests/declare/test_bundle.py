"""Round trip: every generated file, read back with well-known parsers (protego for robots
and ai.txt, http-sf for AIPREF, json, ElementTree), says ``deny`` for every reserved use.

The signal parsers of ``tdmguard.signals`` are being written on another branch; until they
land, this reads the formats with the libraries they build on and maps labels through the
same crosswalk (``vocab.CROSSWALK``)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import http_sf
import pytest
from protego import Protego

from tdmguard.crawlers import product_token
from tdmguard.declare import HolderDeclaration, crawler_tokens, reservation_headers, write_bundle
from tdmguard.declare.rsl_licence import RSL_NAMESPACE
from tdmguard.vocab import Purpose, Use, covered_uses, uses_for_label
from tests.declare.examples import example_declaration

USE_SETS = [
    frozenset({Use.TDM}),
    frozenset({Use.AI_TRAIN, Use.AI_INPUT}),
    frozenset({Use.AI_TRAIN}),
    frozenset({Use.GENAI_TRAIN}),
]


def _group_lines(robots: str, agent: str) -> list[str]:
    """Lines of the group whose User-agent block names ``agent`` (exact)."""
    out: list[str] = []
    in_group = False
    names: list[str] = []
    for line in robots.splitlines():
        if line.lower().startswith("user-agent:"):
            if not names or out:
                names, out = [], []
            names.append(line.split(":", 1)[1].strip())
            in_group = agent in names
        elif in_group and line.strip():
            out.append(line)
        elif not line.strip() and in_group and out:
            return out
    return out if in_group else []


def _denied_by_bundle(folder: Path, decl: HolderDeclaration) -> dict[str, frozenset[Use]]:
    """Uses each channel of the written bundle denies, read back independently."""
    denied: dict[str, frozenset[Use]] = {}
    robots = (folder / "robots.txt").read_text()
    star = _group_lines(robots, "*")
    for line in star:
        field, _, value = line.partition(":")
        value = value.strip()
        if field.lower() in {"content-usage", "content-signal"} and value.startswith("/"):
            # attach-05 §3
            path, _, value = value.partition(" ")  # an optional path, up to the first space
            assert path in decl.reserved_paths
        if field.lower() == "content-usage":
            parsed = http_sf.parse(value.encode(), tltype="dictionary")
            uses = set()
            for key, (token, _params) in parsed.items():
                if isinstance(token, http_sf.Token) and str(token) == "n":
                    uses |= uses_for_label("aipref", key)
            denied["robots:content-usage"] = covered_uses(uses)
        elif field.lower() == "content-signal":
            uses = set()
            for pair in value.split(","):
                key, _, val = pair.strip().partition("=")
                if val == "no":
                    uses |= uses_for_label("content-signal", key)
            denied["robots:content-signal"] = covered_uses(uses)
    # RSL: the licence named by the License: line.
    licence_urls = {ln.split(":", 1)[1].strip() for ln in star if ln.lower().startswith("license:")}
    assert licence_urls == {decl.licence_url}
    root = ET.fromstring((folder / "license.xml").read_bytes())
    ns = {"rsl": RSL_NAMESPACE}
    uses = set()
    for prohibits in root.iterfind("rsl:content/rsl:license/rsl:prohibits[@type='usage']", ns):
        for token in (prohibits.text or "").split():
            uses |= uses_for_label("rsl", token)
    denied["rsl"] = covered_uses(uses)
    # TDMRep: first matching rule of the well-known file.
    rules = json.loads((folder / ".well-known/tdmrep.json").read_text())
    if rules:
        assert rules[0]["tdm-reservation"] == 1
        denied["tdmrep"] = covered_uses(uses_for_label("tdmrep", "1"))
    # Headers: same readers as above.
    headers = dict(reservation_headers(decl))
    if "X-Robots-Tag" in headers:
        uses = set()
        for directive in headers["X-Robots-Tag"].split(","):
            uses |= uses_for_label("robots-meta", directive)
        denied["x-robots-tag"] = covered_uses(uses)
    return denied


@pytest.mark.parametrize("uses", USE_SETS, ids=lambda u: "+".join(sorted(x.value for x in u)))
def test_every_reserved_use_reads_back_as_deny(tmp_path: Path, uses: frozenset[Use]) -> None:
    decl = example_declaration(uses, paths=("/music/", "/art/"))
    write_bundle(decl, tmp_path)
    denied = _denied_by_bundle(tmp_path, decl)
    union: set[Use] = set()
    for channel, channel_uses in denied.items():
        # No channel claims more than the holder reserved.
        assert channel_uses <= decl.covered, channel
        union |= channel_uses
    assert union == decl.covered


def test_robots_txt_blocks_every_ai_crawler_on_reserved_paths_only(tmp_path: Path) -> None:
    decl = example_declaration(paths=("/music/", "/art/"))
    write_bundle(decl, tmp_path)
    rp = Protego.parse((tmp_path / "robots.txt").read_text())
    for token in crawler_tokens():
        for agent in {token, product_token(token)}:
            assert not rp.can_fetch("https://label.example/music/track.mp3", agent), agent
            assert not rp.can_fetch("https://label.example/art/cover.jpg", agent), agent
            assert rp.can_fetch("https://label.example/news/", agent), agent
    # Ordinary search crawlers keep their access.
    assert rp.can_fetch("https://label.example/music/track.mp3", "Googlebot")
    assert len(crawler_tokens()) == 166


def test_ai_txt_disallows_media_types_and_paths(tmp_path: Path) -> None:
    write_bundle(example_declaration(paths=("/music/",)), tmp_path)
    rp = Protego.parse((tmp_path / "ai.txt").read_text())
    for url in (
        "https://label.example/x/t.mp3",
        "https://label.example/c.png",
        "https://label.example/music/a",
    ):
        assert not rp.can_fetch(url, "img2dataset"), url
    assert rp.can_fetch("https://label.example/index.html", "img2dataset")


def test_tdm_policy_is_an_odrl_offer_in_the_tdmrep_profile(tmp_path: Path) -> None:
    decl = example_declaration(purposes=frozenset({Purpose.COMMERCIAL}))
    write_bundle(decl, tmp_path)
    policy = json.loads((tmp_path / "policies/tdm-policy.json").read_text())
    assert policy["@context"] == [
        "http://www.w3.org/ns/odrl.jsonld",
        "http://www.w3.org/ns/tdmrep.jsonld",
    ]
    assert policy["@type"] == "Offer" and policy["profile"] == "http://www.w3.org/ns/tdmrep"
    assert policy["uid"] == decl.policy_url
    assert policy["assigner"]["vcard:hasEmail"] == "mailto:ai-licensing@label.example"
    (permission,) = policy["permission"]
    assert permission["action"] == "tdm:mine"
    assert permission["constraint"][0]["rightOperand"] == "tdm:non-research"
    rules = json.loads((tmp_path / ".well-known/tdmrep.json").read_text())
    assert rules == [{"location": "/*", "tdm-reservation": 1, "tdm-policy": decl.policy_url}]


def test_specific_tdmrep_rules_come_first(tmp_path: Path) -> None:
    write_bundle(example_declaration(paths=("/", "/music/live/")), tmp_path)
    rules = json.loads((tmp_path / ".well-known/tdmrep.json").read_text())
    assert [r["location"] for r in rules] == ["/music/live/*", "/*"]


def test_page_states_reservation_scope_date_and_contact(tmp_path: Path) -> None:
    decl = example_declaration()
    write_bundle(decl, tmp_path)
    page = (tmp_path / "ai-reservation.html").read_text()
    assert '<meta name="tdm-reservation" content="1">' in page
    assert '<meta name="robots" content="noai, noimageai">' in page
    assert "Article 4(3)" in page and "2026-01-01" in page and "ai-licensing@label.example" in page
    assert "GBABC2600001" in page and "T-345.246.800-1" in page
    assert "Art. 3" in page  # research left alone when only commercial use is reserved


def test_html_is_escaped(tmp_path: Path) -> None:
    import dataclasses

    decl = dataclasses.replace(example_declaration(), holder="<script>alert(1)</script> & Co")
    write_bundle(decl, tmp_path)
    assert "<script>" not in (tmp_path / "ai-reservation.html").read_text()


def test_server_snippets_carry_every_header(tmp_path: Path) -> None:
    decl = example_declaration(paths=("/music/",))
    write_bundle(decl, tmp_path)
    headers = reservation_headers(decl)
    assert [n for n, _ in headers] == [
        "tdm-reservation",
        "tdm-policy",
        "Content-Usage",
        "X-Robots-Tag",
        "Link",
    ]
    nginx = (tmp_path / "server/nginx.conf").read_text()
    apache = (tmp_path / "server/apache.conf").read_text()
    caddy = (tmp_path / "server/Caddyfile").read_text()
    assert (
        "location /music/ {" in nginx
        and '<Location "/music/">' in apache
        and "header /music/* {" in caddy
    )
    for name, _ in headers:
        assert re.search(rf"add_header {name} \".+\" always;", nginx), name
        assert f"Header always set {name} " in apache
        assert f"    {name} " in caddy
    assert nginx.count("{") == nginx.count("}")


def test_manifest_lists_every_file_with_its_digest(tmp_path: Path) -> None:
    bundle = write_bundle(example_declaration(), tmp_path)
    manifest_bytes = (tmp_path / "manifest.json").read_bytes()
    assert hashlib.sha256(manifest_bytes).hexdigest() == bundle.manifest_sha256
    manifest = json.loads(manifest_bytes)
    on_disk = sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    assert sorted(f["path"] for f in manifest["files"]) == on_disk  # and no temporary files left
    for entry in manifest["files"]:
        assert (
            hashlib.sha256((tmp_path / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
        )


def test_rewriting_replaces_files_in_place(tmp_path: Path) -> None:
    (tmp_path / "robots.txt").write_text("old")
    (tmp_path / "keep.txt").write_text("mine")
    write_bundle(example_declaration(), tmp_path)
    assert (tmp_path / "robots.txt").read_text().startswith("# AI reservation block")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_unwritable_folder_is_an_input_error(tmp_path: Path) -> None:
    from tdmguard.errors import InputError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError) as info:
        write_bundle(example_declaration(), blocker / "bundle")
    assert str(blocker) in str(info.value)
