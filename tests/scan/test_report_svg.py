"""report_svg: the report's chart specs drawn as SVG in plain Python."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tdmguard.scan.report_charts import _bar
from tdmguard.scan.report_svg import _ticks, draw_svg

NS = "{http://www.w3.org/2000/svg}"


def _titles(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{NS}title")]


def test_ticks_are_round_and_whole_for_counts() -> None:
    assert _ticks(10) == [0, 2, 4, 6, 8, 10]
    assert _ticks(2, whole=True) == [0, 1, 2]
    assert _ticks(0.97, 0.5, 4) == pytest.approx([0.6, 0.8])
    assert _ticks(0) == [0.0]


def test_bars_carry_every_figure_and_escape_labels() -> None:
    values = [{"reason": "<script>alert(1)</script>", "items": 3}, {"reason": "b & c", "items": 7}]
    svg = draw_svg(_bar(values, "reason", "#c0392b"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert sorted(_titles(svg)) == ["<script>alert(1)</script>: 3 items", "b & c: 7 items"]
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(widths[0] * 3 / 7, rel=0.01)  # sorted by -x: 7 first


def test_stacked_bars_split_by_decision() -> None:
    colour = {"field": "decision", "type": "nominal",
              "scale": {"domain": ["keep", "exclude"], "range": ["#4c9a5b", "#c0392b"]}}
    spec = {"width": 300, "mark": "bar",
            "data": {"values": [{"minute": f"2026-01-01T00:{m:02d}", "decision": d, "items": n}
                                for m in range(60) for d, n in (("keep", 2), ("exclude", 1))]},
            "encoding": {"x": {"field": "minute", "type": "ordinal", "title": "minute"},
                         "y": {"field": "items", "type": "quantitative"}, "color": colour}}
    svg = draw_svg(spec)
    ET.fromstring(svg)  # well-formed
    assert len([t for t in _titles(svg) if "keep: 2" in t]) == 60
    labels = re.findall(r'rotate\(-40', svg)
    assert 0 < len(labels) < 60  # crowded labels thinned, not overlapping


def test_histogram_counts_and_threshold() -> None:
    spec = {"hconcat": [{"title": "audio", "width": 220, "height": 140, "layer": [
        {"data": {"values": [{"score": s} for s in (9, 9.2, 20, 20)]},
         "mark": {"type": "bar", "color": "#34495e"},
         "encoding": {"x": {"field": "score", "type": "quantitative",
                            "bin": {"maxbins": 20, "extent": [8.0, 20.0]}}}},
        {"data": {"values": [{"threshold": 8.0}]},
         "mark": {"type": "rule", "color": "#c0392b", "strokeDash": [4, 3]},
         "encoding": {"x": {"field": "threshold", "type": "quantitative"}}}]}]}
    titles = _titles(draw_svg(spec))
    counts = sorted(int(t.split(": ")[1].split()[0]) for t in titles if t.startswith("score"))
    assert counts == [2, 2] and "threshold 8" in titles


def test_unknown_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        draw_svg({"mark": "no-such-mark", "data": {"values": []}})
    with pytest.raises(ValueError):
        draw_svg(_bar([], "reason", "#000"))
