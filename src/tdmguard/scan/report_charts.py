"""The report's charts: Vega-Lite specifications (a portable description of each chart,
with its aggregated data), drawn to inline SVG by ``report_svg`` in plain Python.

The charts are drawn here, once, so the HTML report needs no chart script, no network and
no browser-side rendering. Every chart is drawn from aggregates (never one mark per item),
so its size does not grow with the scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tdmguard.scan.report_facts import MATCH_THRESHOLDS, ReportFacts
from tdmguard.scan.report_svg import draw_svg

__all__ = ["Chart", "chart_specs", "render_svg"]

DECISION_COLOURS = {
    "keep": "#4c9a5b",
    "exclude": "#c0392b",
    "review": "#e0a526",
    "error": "#7f8c8d",
}
TOP = 15
MAX_TIME_BARS = 240
WIDTH = 380


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: an id for the page, a title, the Vega-Lite spec (``None`` when there is
    nothing to draw) and the aggregate rows it shows (also printed as a table)."""

    key: str
    title: str
    spec: dict[str, Any] | None
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""


def _decision_colour() -> dict[str, Any]:
    return {
        "field": "decision",
        "type": "nominal",
        "scale": {
            "domain": list(DECISION_COLOURS),
            "range": list(DECISION_COLOURS.values()),
        },
        "sort": list(DECISION_COLOURS),
    }


def _bar(values: Sequence[Mapping[str, Any]], label: str, colour: str) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": WIDTH,
        "data": {"values": list(values)},
        "mark": {"type": "bar", "color": colour},
        "encoding": {
            "y": {"field": label, "type": "nominal", "sort": "-x", "title": None,
                  "axis": {"labelLimit": 260}},
            "x": {"field": "items", "type": "quantitative", "title": "items"},
            "tooltip": [{"field": label}, {"field": "items"}],
        },
    }


def _counter_chart(
    key: str, title: str, label: str, counts: Mapping[str, int], colour: str, note: str = ""
) -> Chart:
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    rows = tuple((k, v) for k, v in top)
    more = len(counts) - len(top)
    if more > 0:
        note = (note + " " if note else "") + f"Top {TOP} of {len(counts)} shown."
    spec = _bar([{label: k, "items": v} for k, v in top], label, colour) if top else None
    return Chart(key, title, spec, (label, "items"), rows, note)


def _timeline(facts: ReportFacts) -> Chart:
    points = [p for scan in facts.scans for p in scan.report.get("timeline") or []]
    # A long scan has many minutes: past MAX_TIME_BARS, count per hour (same totals).
    width = 16 if len({str(p.get("minute", "")) for p in points}) <= MAX_TIME_BARS else 13
    totals: dict[tuple[str, str], int] = {}
    for point in points:
        minute = str(point.get("minute", ""))[:width]
        for decision in DECISION_COLOURS:
            n = int(point.get(decision, 0) or 0)
            if n and minute:
                totals[(minute, decision)] = totals.get((minute, decision), 0) + n
    values = [{"minute": m, "decision": d, "items": n} for (m, d), n in sorted(totals.items())]
    rows = tuple((v["minute"], v["decision"], v["items"]) for v in values)
    if not values:
        return Chart("timeline", "Decisions over time", None, ("minute", "decision", "items"),
                     rows, "No timeline in report.json (a scan made before tdmguard recorded "
                     "shard completion times).")
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": WIDTH,
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "x": {"field": "minute", "type": "ordinal",
                  "title": f"shard completed (UTC {'minute' if width == 16 else 'hour'})",
                  "axis": {"labelAngle": -40, "labelOverlap": True}},
            "y": {"field": "items", "type": "quantitative", "stack": "zero", "title": "items"},
            "color": _decision_colour(),
            "tooltip": [{"field": "minute"}, {"field": "decision"}, {"field": "items"}],
        },
    }
    return Chart("timeline", "Decisions over time", spec, ("minute", "decision", "items"), rows)


def _by_media(facts: ReportFacts) -> Chart:
    values = [
        {"media": media, "decision": decision, "items": n}
        for (media, decision), n in sorted(facts.decision_media.items())
    ]
    rows = tuple((v["media"], v["decision"], v["items"]) for v in values)
    spec = None
    if values:
        spec = {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "width": WIDTH,
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "y": {"field": "media", "type": "nominal", "title": "media kind"},
                "x": {"field": "items", "type": "quantitative", "stack": "zero"},
                "color": _decision_colour(),
                "tooltip": [{"field": "media"}, {"field": "decision"}, {"field": "items"}],
            },
        }
    return Chart("by-media", "Decisions by media kind", spec, ("media", "decision", "items"), rows)


def _extent(values: Sequence[float], threshold: float | None) -> list[float]:
    """Bins over the scores and the threshold, so bars keep a readable width."""
    points = [*values, *([] if threshold is None else [threshold])]
    lo, hi = min(points), max(points)
    if hi > lo:
        return [lo, hi]
    return [lo - 0.1 * (abs(lo) or 1.0), lo + 0.1 * (abs(lo) or 1.0)]  # one value, centred


def _scores(facts: ReportFacts) -> Chart:
    panels: list[dict[str, Any]] = []
    rows: list[tuple[Any, ...]] = []
    notes: list[str] = []
    for modality, (values, seen) in facts.score_samples().items():
        threshold = MATCH_THRESHOLDS.get(modality)
        rows.append((modality, seen, min(values) if values else "", max(values) if values else "",
                     "" if threshold is None else round(threshold, 4)))
        if seen > len(values):
            notes.append(f"{modality}: a seeded sample of {len(values)} of {seen} scores")
        layers: list[dict[str, Any]] = [
            {
                "data": {"values": [{"score": v} for v in values]},
                "mark": {"type": "bar", "color": "#34495e"},
                "encoding": {
                    "x": {"field": "score", "type": "quantitative",
                          "bin": {"maxbins": 20, "extent": _extent(values, threshold)},
                          "title": f"{modality} match score", "scale": {"zero": False}},
                    "y": {"aggregate": "count", "type": "quantitative", "title": "matches"},
                },
            }
        ]
        if threshold is not None:
            layers.append(
                {
                    "data": {"values": [{"threshold": threshold}]},
                    "mark": {"type": "rule", "color": "#c0392b", "strokeWidth": 2,
                             "strokeDash": [4, 3]},
                    "encoding": {"x": {"field": "threshold", "type": "quantitative"}},
                }
            )
        panels.append({"title": modality, "width": 220, "height": 140, "layer": layers})
    note = "Dashed red line: the engine's match threshold (none for lyrics, which match by " \
           "n-gram chains)."
    if notes:
        note += " " + "; ".join(notes) + "."
    spec = None
    if panels:
        spec = {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "hconcat": panels,
        }
    return Chart("scores", "Match scores by modality", spec,
                 ("modality", "matches", "min", "max", "threshold"), tuple(rows), note)


def chart_specs(facts: ReportFacts) -> list[Chart]:
    """Every chart of the report, in page order."""
    works = {
        f"{title or work} ({holder})" if holder else (title or work): n
        for (work, title, holder), n in facts.excluded_works.items()
    }
    return [
        _timeline(facts),
        _by_media(facts),
        _counter_chart("excluded-reasons", "Exclusions by reason", "reason",
                       facts.excluded_reasons, DECISION_COLOURS["exclude"],
                       "Items excluded, counted once per reason code they carry."),
        _counter_chart("excluded-channels", "Exclusions by channel", "channel",
                       facts.excluded_channels, "#8e44ad",
                       "Content match, embedded metadata, and each web signal; an item "
                       "excluded through several channels counts in each."),
        _counter_chart("holders", "Top rights holders (excluded items)", "holder",
                       facts.excluded_holders, "#2c3e50"),
        _counter_chart("works", "Top matched works (excluded items)", "work",
                       works, "#16a085"),
        _scores(facts),
        _counter_chart("errors", "Errors by kind", "kind", facts.errors,
                       DECISION_COLOURS["error"]),
    ]


def render_svg(charts: Sequence[Chart]) -> tuple[dict[str, str], dict[str, str]]:
    """SVG text per chart key (charts without a spec are left out), and why a chart could
    not be drawn (``report_svg``: milliseconds per chart, no extra needed)."""
    out: dict[str, str] = {}
    failed: dict[str, str] = {}
    for chart in charts:
        if chart.spec is None:
            continue
        try:
            out[chart.key] = draw_svg(chart.spec)
        except Exception as exc:  # a drawing failure must not cost a finished scan its report
            failed[chart.key] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out, failed
