"""A draft of the public summary of training content (EU AI Act Article 53(1)(d)) from one or
several scans, following the sections of the AI Office's template (24 July 2025), plus the
removal manifest of every excluded item.

What the scans know (items, sizes, modalities, domains, exclusions by channel, the registry
consulted, the settings) is filled in, and every such figure is the one in the scans'
``report.json`` (summed over scans). What only the provider knows (its name, the model,
other data sources, ...) comes from ``--provider-info`` or is left as an open question:
nothing is guessed. The template's section numbers and size bins are followed; see
``docs/report.md`` for the sources used.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from tdmguard import __version__
from tdmguard.atomic import atomic_writer, write_bytes_atomic, write_json_atomic
from tdmguard.errors import InputError, MissingExtraError
from tdmguard.scan.report_facts import (
    ScanRun,
    collect_facts,
    content_section,
    iter_jsonl,
    load_scan,
)

__all__ = [
    "PROVIDER_FIELDS",
    "TEMPLATE",
    "UNKNOWN",
    "SummaryFiles",
    "build_summary",
    "load_provider_info",
    "render",
    "size_bin",
    "write_manifest",
    "write_summary",
]

TEMPLATE = (
    "Template for the Public Summary of Training Content for general-purpose AI models, "
    "annexed to the Commission's Explanatory Notice (AI Office, 24 July 2025), "
    "Article 53(1)(d) of Regulation (EU) 2024/1689"
)
UNKNOWN = "unknown: to be completed by the provider"

#: ``--provider-info`` keys (JSON or YAML) and what each holds; anything else is refused so
#: that a misspelt key is not silently left out of the summary.
PROVIDER_FIELDS: Mapping[str, str] = {
    "provider_name": "1.1 provider name",
    "provider_contact": "1.1 provider contact details",
    "authorised_representative": "1.1 authorised representative, name and contact",
    "model_name": "1.2 versioned model name(s)",
    "model_dependencies": "1.2 model dependencies (the model this one modifies or fine-tunes)",
    "placed_on_market": "1.2 date the model was placed on the Union market",
    "content_types": "1.3 types of content per modality (mapping modality -> text)",
    "audio_hours": "1.3 training audio in hours (the scan does not measure durations)",
    "video_hours": "1.3 training video in hours",
    "text_tokens": "1.3 training text in tokens (the scan bounds it by bytes)",
    "latest_collection_date": "1.3 latest date of data collection (YYYY-MM or YYYY-MM-DD)",
    "languages": "1.3 languages of the training data (list)",
    "other_characteristics": "1.3 other overall characteristics",
    "datasets": "2.1 per scanned source (path as in report.json): name, public, url, notes",
    "private_datasets": "2.2 private datasets from third parties (licensed or other)",
    "crawlers": "2.3 crawlers used: name, purpose, behaviour",
    "crawling_period": "2.3 period of collection (first, last)",
    "crawled_content": "2.3 type of content and online sources crawled",
    "sme": "2.3 the provider is an SME (top 5 % or 1,000 domains instead of 10 %)",
    "user_data": "2.4 user data",
    "synthetic_data": "2.5 synthetic data",
    "other_sources": "2.6 other sources of data",
    "reservation_measures": "3.1 other measures to honour reservations (e.g. Code of Practice)",
    "illegal_content_removal": "3.2 measures to remove illegal content",
    "other_information": "3.3 other information (optional)",
}

# Template size bins per modality (section 1.3): (upper bound, label), last has no bound.
_BINS: Mapping[str, tuple[tuple[float | None, str], ...]] = {
    "text": (
        (1e9, "Less than 1 billion tokens"),
        (1e13, "1 billion to 10 trillion tokens"),
        (None, "More than 10 trillion tokens"),
    ),
    "image": (
        (1e6, "Less than 1 million images"),
        (1e9, "1 million to 1 billion images"),
        (None, "More than 1 billion images"),
    ),
    "audio": (
        (1e4, "Less than 10,000 hours"),
        (1e6, "10,000 to 1 million hours"),
        (None, "More than 1 million hours"),
    ),
    "video": (
        (1e4, "Less than 10,000 hours"),
        (1e6, "10,000 to 1 million hours"),
        (None, "More than 1 million hours"),
    ),
}

# Media kinds of a scan -> template modality.
_MODALITY_OF_MEDIA = {
    "text": "text",
    "image": "image",
    "audio": "audio",
    "symbolic": "other",
    "unknown": "other",
}

# What each scan check reads, for section 3.1 (the protocols the scan honoured).
_PROTOCOLS_OF_CHECK: Mapping[str, tuple[str, ...]] = {
    "url-signals": (
        "robots.txt (RFC 9309) with AI crawler user agents and token-only agents "
        "(Google-Extended, Applebot-Extended)",
        "IETF AIPREF Content-Usage (robots.txt and HTTP header)",
        "Cloudflare Content Signals (robots.txt)",
        "TDMRep (W3C community group): /.well-known/tdmrep.json, tdm-reservation and "
        "tdm-policy HTTP headers and HTML meta",
        "RSL licences (robots.txt License:, Link rel=license)",
        "X-Robots-Tag and HTML robots meta (noai, noimageai)",
        "Spawning ai.txt",
    ),
    "embedded-signals": (
        "XMP in media files: IPTC PLUS Data Mining (plus:DataMining) and tdm:reservation",
        "C2PA / CAWG training-and-data-mining assertions",
        "audio tags (ID3, Vorbis comments, MP4) carrying a TDM reservation",
    ),
    "audio-match": ("content match of audio against registered recordings (fingerprints)",),
    "lyrics-match": ("content match of text against registered lyrics (fingerprints)",),
    "melody-match": ("content match of symbolic music against registered melodies",),
    "image-match": ("content match of images against registered artwork (PDQ hashes)",),
}


def size_bin(modality: str, amount: float) -> str:
    """The template's size range (section 1.3) holding ``amount`` (tokens, images or
    hours, by modality)."""
    for bound, label in _BINS[modality]:
        if bound is None or amount < bound:
            return label
    raise AssertionError("unreachable: the last bin has no bound")


def load_provider_info(path: Path | None) -> dict[str, Any]:
    """Read ``--provider-info`` (JSON, or YAML by its suffix); unknown keys are refused."""
    if path is None:
        return {}
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            import yaml
        except ModuleNotFoundError as exc:
            raise MissingExtraError("pyyaml", "report") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"invalid YAML ({exc})", where=str(path)) from exc
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"invalid JSON ({exc})", where=str(path)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("provider info must be a mapping of fields", where=str(path))
    unknown = sorted(str(k) for k in data if k not in PROVIDER_FIELDS)
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(PROVIDER_FIELDS)}",
            where=str(path),
        )
    for key in ("content_types", "datasets", "crawling_period"):
        if key in data and not isinstance(data[key], dict):
            raise InputError(f"field {key!r} must be a mapping", where=str(path))
    for key in ("audio_hours", "video_hours", "text_tokens"):
        if key in data and (
            isinstance(data[key], bool) or not isinstance(data[key], int | float)
        ):
            raise InputError(f"field {key!r} must be a number", where=str(path))
    if "languages" in data and not isinstance(data["languages"], list):
        raise InputError("field 'languages' must be a list", where=str(path))
    return {k: v for k, v in data.items() if v is not None}


def _known(value: Any, question: str, open_questions: list[dict[str, str]]) -> Any:
    """``value`` if given, else :data:`UNKNOWN` and the question is recorded."""
    if value is None or value == "" or value == [] or value == {}:
        open_questions.append({"field": question.split(" ", 1)[0], "question": question})
        return UNKNOWN
    return value


def _figures(scans: Sequence[ScanRun]) -> dict[str, Any]:
    """The figures of ``report.json``, summed over the scans (what the summary quotes)."""
    counts: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    by_media: Counter[str] = Counter()
    by_holder: Counter[str] = Counter()
    records = 0
    size = 0
    for scan in scans:
        r = scan.report
        counts.update({k: int(v) for k, v in r["counts"].items()})
        by_reason.update(r.get("by_reason", {}))
        by_media.update(r.get("by_media", {}))
        by_holder.update(r.get("by_holder", {}))
        records += int(r.get("inputs", {}).get("records", 0))
        size += int(r.get("bytes", 0))
    return {
        "records": records,
        "bytes": size,
        "kept": counts["kept"],
        "excluded": counts["excluded"],
        "review": counts["review"],
        "errors": counts["errors"],
        "by_reason": dict(sorted(by_reason.items())),
        "by_media": dict(sorted(by_media.items())),
        "by_holder": dict(sorted(by_holder.items())),
    }


def _content(scan: ScanRun) -> Mapping[str, Any]:
    """The scan's ``content`` block: from report.json, or computed from its outputs for a
    scan made before tdmguard wrote it."""
    content = scan.report.get("content")
    if isinstance(content, dict):
        return content
    return content_section(collect_facts([scan.folder], reports=[scan.report], max_rows=0))


def _merge_content(contents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    channels: Counter[str] = Counter()
    media: dict[str, list[int]] = {}
    domains: dict[str, list[int]] = {}
    domain_total = 0
    tops_complete = True  # every scan listed all its domains: the union is exact
    languages: Counter[str] = Counter()
    period: list[str] = []
    for c in contents:
        channels.update(c.get("excluded_by_channel", {}))
        for m, v in c.get("kept_by_media", {}).items():
            slot = media.setdefault(m, [0, 0])
            slot[0] += int(v["items"])
            slot[1] += int(v["bytes"])
        kd = c.get("kept_domains", {})
        domain_total += int(kd.get("domains", 0))
        tops_complete &= int(kd.get("domains", 0)) == len(kd.get("top", []))
        for d in kd.get("top", []):
            slot = domains.setdefault(d["domain"], [0, 0])
            slot[0] += int(d["items"])
            slot[1] += int(d["bytes"])
        languages.update(c.get("kept_languages", {}))
        p = c.get("collection_period")
        if p:
            period = [min(period[0], p["first"]), max(period[1], p["last"])] if period else [
                p["first"], p["last"]]
    return {
        "channels": channels,
        "media": media,
        "domains": domains,
        # a domain in several scans counts once when the lists are complete; otherwise the
        # sum over scans (an upper bound) is what is known
        "domain_total": len(domains) if tops_complete else domain_total,
        "languages": languages,
        "period": period,
    }


def _modalities(
    media: Mapping[str, list[int]], info: Mapping[str, Any], oq: list[dict[str, str]]
) -> dict[str, Any]:
    kept: dict[str, list[int]] = {}
    for m, (items, size) in media.items():
        slot = kept.setdefault(_MODALITY_OF_MEDIA.get(m, "other"), [0, 0])
        slot[0] += items
        slot[1] += size
    types = info.get("content_types", {})
    out: dict[str, Any] = {}
    for modality in ("text", "image", "audio", "video", "other"):
        items, size = kept.get(modality, [0, 0])
        entry: dict[str, Any] = {"present": items > 0, "items": items, "bytes": size}
        if modality == "text" and items:
            if "text_tokens" in info:
                entry["size_bin"] = size_bin("text", float(info["text_tokens"]))
                entry["size_basis"] = "tokens given in --provider-info"
            elif size < 1e9:
                entry["size_bin"] = size_bin("text", float(size))
                entry["size_basis"] = (
                    f"{size:,} bytes of text; a tokenizer whose every token covers at least "
                    "one byte gives at most that many tokens"
                )
            else:
                entry["size_bin"] = _known(None, "1.3 text size in tokens (count them with the "
                                           "model's tokenizer)", oq)
        elif modality == "image" and items:
            entry["size_bin"] = size_bin("image", float(items))
            entry["size_basis"] = f"{items:,} images kept by the scans"
        elif modality in {"audio", "video"}:
            hours = info.get(f"{modality}_hours")
            if hours is not None:
                entry["size_bin"] = size_bin(modality, float(hours))
                entry["size_basis"] = "hours given in --provider-info"
                entry["present"] = entry["present"] or float(hours) > 0
            elif items:
                entry["size_bin"] = _known(
                    None, f"1.3 {modality} size in hours (the scan counts files, not "
                    "durations)", oq)
        elif modality == "other" and items:
            kinds = sorted(m for m in media if _MODALITY_OF_MEDIA.get(m) == "other")
            entry["size_bin"] = f"{items:,} item(s) ({', '.join(kinds)})"
            entry["size_basis"] = "symbolic music and unidentified files, counted as items"
        if entry["present"]:
            entry["types_of_content"] = _known(
                types.get(modality), f"1.3 types of {modality} content", oq)
        out[modality] = entry
    return out


def _protocols(scans: Sequence[ScanRun]) -> list[str]:
    active: list[str] = []
    for scan in scans:
        for name in scan.report.get("checks", {}).get("active", []):
            if name not in active:
                active.append(name)
    out: list[str] = []
    for name in sorted(active):
        out.extend(_PROTOCOLS_OF_CHECK.get(name, (f"plug-in check {name}",)))
    return out


def build_summary(
    scans: Sequence[ScanRun],
    info: Mapping[str, Any],
    *,
    manifest: Mapping[str, Any] | None = None,
    generated_at: str | None = None,
) -> dict[str, Any]:
    """The summary as one JSON-ready mapping: template sections, the figures quoted from
    ``report.json`` and the open questions a person must answer."""
    oq: list[dict[str, str]] = []
    figures = _figures(scans)
    merged = _merge_content([_content(s) for s in scans])
    kept_total = figures["kept"]

    # 2.1 datasets: each scanned source, by share of the kept items and bytes.
    declared = info.get("datasets", {})
    datasets = []
    kept_bytes_total = sum(int(v[1]) for v in merged["media"].values())
    for scan in scans:
        source = str(scan.report.get("inputs", {}).get("source", scan.folder))
        meta = declared.get(source, {}) if isinstance(declared.get(source, {}), dict) else {}
        kept = int(scan.report["counts"]["kept"])
        kept_bytes = sum(
            int(v["bytes"]) for v in _content(scan).get("kept_by_media", {}).values()
        )
        public = meta.get("public")
        datasets.append({
            "source": source,
            "name": meta.get("name") or Path(source).name,
            "public": _known(public, f"2.1 is the dataset {source} publicly available?", oq)
            if public is None else bool(public),
            "url": meta.get("url"),
            "items_kept": kept,
            "bytes_kept": kept_bytes,
            "share_of_items": round(kept / kept_total, 4) if kept_total else 0.0,
            "share_of_bytes": round(kept_bytes / kept_bytes_total, 4) if kept_bytes_total else 0.0,
            "notes": meta.get("notes"),
        })

    # 2.3 crawled data: domains by volume (bytes kept), the template's top 10 % (5 % or at
    # most 1,000 for SMEs).
    domains = sorted(merged["domains"].items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
    n_domains = int(merged["domain_total"])
    sme = bool(info.get("sme", False))
    share = 0.05 if sme else 0.10
    n_top = max(1, round(n_domains * share)) if n_domains else 0
    if sme:
        n_top = min(n_top, 1000)
    top = [{"domain": d, "items": v[0], "bytes": v[1]} for d, v in domains[:n_top]]
    crawled: dict[str, Any] = {"items_with_url": sum(v[0] for v in merged["domains"].values()),
                               "domains": n_domains}
    if n_domains:
        period = merged["period"] or None
        given = info.get("crawling_period")
        crawled.update({
            "crawlers": _known(info.get("crawlers"), "2.3 crawlers used (name, purpose, "
                               "behaviour)", oq),
            "period": given or ({"first": period[0], "last": period[1]} if period else
                                _known(None, "2.3 period of data collection", oq)),
            "content": _known(info.get("crawled_content"), "2.3 type of content and online "
                              "sources crawled", oq),
            "top_domains_rule": f"top {int(share * 100)} % of {n_domains:,} domains by bytes "
            "kept" + (", at most 1,000 (SME)" if sme else ""),
            "top_domains": top,
        })
        if len(top) < n_top:
            crawled["top_domains_note"] = (
                f"{n_top:,} domains are due but report.json keeps the top 1,000 per scan; "
                "the list is complete up to that."
            )

    langs = merged["languages"]
    languages = info.get("languages") or (
        [{"language": k, "items": v} for k, v in sorted(langs.items(), key=lambda kv: -kv[1])]
        if langs else None)
    latest = info.get("latest_collection_date") or (merged["period"][1] if merged["period"]
                                                    else None)

    channels = dict(sorted(merged["channels"].items()))
    registries: list[dict[str, Any]] = []
    for scan in scans:
        reg = scan.report.get("registry", {})
        entry = {
            "digest": reg.get("digest"),
            "works": reg.get("works"),
            "holders": reg.get("holders"),
            "sources": scan.report.get("sources") or reg.get("sources") or [],
        }
        if reg.get("content_digest"):  # reports from before issue 18 have none
            entry["content_digest"] = reg["content_digest"]
        if entry not in registries:
            registries.append(entry)
    unknown_policy = sorted({str(s.report.get("inputs", {}).get("unknown", "?")) for s in scans})
    settings: list[dict[str, Any]] = []
    for scan in scans:
        inputs = scan.report.get("inputs", {})
        keys = ("use", "purpose", "actor", "at", "unknown", "research_exception")
        setting = {k: inputs.get(k) for k in keys}
        if setting not in settings:
            settings.append(setting)
    summary: dict[str, Any] = {
        "title": "Public summary of training content (draft)",
        "template": TEMPLATE,
        "status": "DRAFT generated by tdmguard from scan reports; a person must answer the "
        "open questions and check every statement before publication",
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "tdmguard_version": __version__,
        "scans": [
            {
                "folder": str(s.folder),
                "source": s.report.get("inputs", {}).get("source"),
                "started_at": s.report.get("started_at"),
                "finished_at": s.report.get("finished_at"),
            }
            for s in scans
        ],
        "figures": figures,
        "1_general_information": {
            "1_1_provider": {
                "name": _known(info.get("provider_name"), "1.1 provider name", oq),
                "contact": _known(info.get("provider_contact"), "1.1 provider contact", oq),
                "authorised_representative": info.get("authorised_representative")
                or "not given (needed only for providers established outside the Union)",
            },
            "1_2_model": {
                "versioned_name": _known(info.get("model_name"), "1.2 versioned model name",
                                         oq),
                "dependencies": info.get("model_dependencies") or "not given (only for a "
                "model that modifies or fine-tunes another general-purpose AI model)",
                "placed_on_market": _known(info.get("placed_on_market"), "1.2 date of "
                                           "placement on the Union market", oq),
            },
            "1_3_modalities_and_size": {
                "modalities": _modalities(merged["media"], info, oq),
                "latest_collection_date": _known(latest, "1.3 latest date of data collection",
                                                 oq),
                "languages": _known(languages, "1.3 languages of the training data (records "
                                    "carry no language field)", oq),
                "other_characteristics": info.get("other_characteristics"),
            },
        },
        "2_list_of_data_sources": {
            "2_1_publicly_available_datasets": {
                "datasets": datasets,
                "large_dataset_rule": "a dataset holding more than 3 % of the publicly "
                "available data of a modality is listed by name",
            },
            "2_2_private_datasets": _known(info.get("private_datasets"), "2.2 private "
                                           "datasets obtained from third parties", oq),
            "2_3_crawled_and_scraped_data": crawled if n_domains else (
                info.get("crawled_content") or "no scanned item carries a source URL"),
            "2_4_user_data": _known(info.get("user_data"), "2.4 user data", oq),
            "2_5_synthetic_data": _known(info.get("synthetic_data"), "2.5 synthetic data", oq),
            "2_6_other_sources": _known(info.get("other_sources"), "2.6 other sources of data",
                                        oq),
        },
        "3_data_processing": {
            "3_1_respect_of_reservations_of_rights": {
                "protocols_and_checks": _protocols(scans),
                "items_scanned": figures["records"],
                "items_kept": figures["kept"],
                "items_excluded": figures["excluded"],
                "items_for_review": figures["review"],
                "items_failed": figures["errors"],
                "excluded_by_channel": channels,
                "reasons": figures["by_reason"],
                "registries_consulted": registries,
                "settings": settings,
                "unknown_signals": (
                    f"an item with neither a reservation signal nor a registered work is "
                    f"'{', '.join(unknown_policy)}' (--unknown); "
                    f"{figures['by_reason'].get('no-signal', 0):,} items had no signal. An "
                    "absent signal is never read as a permission."
                ),
                "other_measures": info.get("reservation_measures"),
                "removal_manifest": dict(manifest) if manifest else None,
            },
            "3_2_removal_of_illegal_content": _known(info.get("illegal_content_removal"),
                                                     "3.2 removal of illegal content", oq),
            "3_3_other_information": info.get("other_information"),
        },
        "open_questions": sorted(oq, key=lambda q: q["field"]),  # template order
    }
    return summary


@dataclass(frozen=True, slots=True)
class SummaryFiles:
    markdown: Path
    html: Path
    json: Path
    manifest: Path
    summary: dict[str, Any]


def write_manifest(scans: Sequence[ScanRun], path: Path) -> dict[str, Any]:
    """Write the removal manifest (JSON Lines, one excluded item a line: scan source, id,
    path, URL, media, SHA-256 of the content, reason codes, works) and describe it."""
    items = 0
    hashed = 0
    with atomic_writer(path, "wb") as out:
        for scan in scans:
            source = scan.report.get("inputs", {}).get("source")
            for line in iter_jsonl(scan.folder / "excluded.jsonl"):
                sha = line.get("sha256")
                origin = "scan" if sha else None
                if not sha and isinstance(line.get("path"), str):
                    sha = _file_sha256(Path(line["path"]))
                    origin = "summary (file as it is now)" if sha else None
                entry = {
                    "source": source,
                    "id": line.get("id"),
                    "path": line.get("path"),
                    "url": line.get("url"),
                    "media": line.get("media"),
                    "size_bytes": line.get("size_bytes"),
                    "sha256": sha,
                    "sha256_from": origin,
                    "reasons": sorted({str(r.get("code")) for r in line.get("reasons", [])
                                       if isinstance(r, dict)}),
                    "works": sorted({str(r["work"]) for r in line.get("reasons", [])
                                     if isinstance(r, dict) and "work" in r}),
                }
                out.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
                          .encode("utf-8"))
                items += 1
                hashed += sha is not None
    return {
        "file": path.name,
        "items": items,
        "items_with_sha256": hashed,
        "sha256_of_file": _file_sha256(path),
    }


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _show(value: Any) -> str:
    """Any provider-given or computed value as one readable line."""
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) or "none"
    return str(value)


def _template_text(name: str) -> str:
    return (resources.files("tdmguard.scan") / "templates" / name).read_text("utf-8")


def render(summary: Mapping[str, Any], template: str) -> str:
    """The summary as Markdown (``summary.md.j2``) or HTML (``summary.html.j2``)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_text),
        autoescape=template.endswith(".html.j2"),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    env.filters["pct"] = lambda v: f"{v * 100:.1f} %"
    env.filters["show"] = _show
    env.filters["cell"] = lambda v: _show(v).replace("|", "\\|").replace("\n", " ")
    return env.get_template(template).render(s=summary, unknown=UNKNOWN)


def write_summary(
    folders: Sequence[Path],
    out: Path,
    *,
    provider_info: Path | None = None,
    generated_at: str | None = None,
) -> SummaryFiles:
    """``tdmguard summary``: write ``summary.md``, ``summary.html``, ``summary.json`` and
    ``removal-manifest.jsonl`` into ``out``."""
    info = load_provider_info(provider_info)
    if not folders:
        raise InputError("no scan folder given", where="summary")
    scans = [load_scan(Path(f)) for f in folders]
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "removal-manifest.jsonl"
    manifest = write_manifest(scans, manifest_path)
    summary = build_summary(scans, info, manifest=manifest, generated_at=generated_at)
    md, html, js = out / "summary.md", out / "summary.html", out / "summary.json"
    write_bytes_atomic(md, render(summary, "summary.md.j2").encode("utf-8"))
    write_bytes_atomic(html, render(summary, "summary.html.j2").encode("utf-8"))
    write_json_atomic(js, summary)
    return SummaryFiles(md, html, js, manifest_path, summary)
