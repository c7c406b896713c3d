"""The report's charts: Vega-Lite specs from aggregates, drawn to SVG by report_svg."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tdmguard.scan.report_charts import chart_specs, render_svg
from tdmguard.scan.report_facts import MATCH_THRESHOLDS, collect_facts
from tests.scan.scan_factory import fixed_scans


def test_every_chart_with_data_draws(tmp_path: Path) -> None:
    charts = chart_specs(collect_facts(fixed_scans(tmp_path)))
    assert [c.key for c in charts] == ["timeline", "by-media", "excluded-reasons",
                                       "excluded-channels", "holders", "works", "scores",
                                       "errors"]
    svgs, failed = render_svg(charts)
    assert failed == {}
    for chart in charts:  # every aggregate row is a mark with its figures in a tooltip
        if chart.key not in ("scores",):
            assert svgs[chart.key].count("<rect") >= len(chart.rows), chart.key
    assert set(svgs) == {c.key for c in charts if c.spec is not None} == {c.key for c in charts}
    for key, svg in svgs.items():
        assert svg.lstrip().startswith("<svg") and "http://" not in svg.replace(
            "http://www.w3.org", ""), key
    scores = next(c for c in charts if c.key == "scores")
    assert scores.spec is not None
    marked = {p["title"]: p["layer"][1]["data"]["values"][0]["threshold"]
              for p in scores.spec["hconcat"] if len(p["layer"]) == 2}
    assert marked == {"audio": 8.0, "image": pytest.approx(0.515625), "melody": 0.5}


def test_thresholds_are_the_engines() -> None:
    alignment = pytest.importorskip("tdmguard.fingerprint.audio.alignment")
    image = pytest.importorskip("tdmguard.fingerprint.image")
    assert MATCH_THRESHOLDS["audio"] == alignment.AlignParams().min_score
    assert MATCH_THRESHOLDS["image"] == 1 - image.MATCH_MAX_DISTANCE / 64


def test_a_chart_that_fails_to_draw_is_named_not_fatal(tmp_path: Path) -> None:
    charts = chart_specs(collect_facts(fixed_scans(tmp_path)))
    broken = [replace(charts[0], spec={"mark": "no-such-mark", "data": {"values": []}}),
              *charts[1:]]
    svgs, failed = render_svg(broken)
    assert set(failed) == {"timeline"} and "by-media" in svgs
