"""Draws the report's charts as inline SVG, in plain Python, from their Vega-Lite specs.

The report's charts are few and simple (``report_charts``): horizontal bars, bars stacked
by decision (vertical over time, horizontal by media kind) and score histograms with a
threshold rule. Drawing them here takes milliseconds; drawing them with vl-convert (the
Vega libraries in an embedded JavaScript engine) cost every scan 1-2 CPU seconds, most of it
starting that engine, which on a small scan outweighed the scan itself (issue 12).

Only the spec shapes ``report_charts`` builds are understood; any other spec raises
``ValueError`` (the page then names the chart as not drawn and keeps its numbers). Every
mark carries a ``<title>`` (a tooltip in browsers) with its exact figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["draw_svg"]

FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'
AXIS = "#888"
TEXT = "#333"
CHAR_W = 6.2  # average glyph width at 11 px, for label room
ROW_H = 18
BAR_GAP = 3


def _num(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def _ticks(hi: float, lo: float = 0.0, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 times a power of ten apart; at least 1
    apart when ``whole``, for counts)."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, 1.0)
    first = math.ceil(lo / step) * step
    out: list[float] = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def _axes(left: float, top: float, right: float, base: float) -> list[str]:
    """The x axis along ``base`` and the y axis along ``left``."""
    return [f'<line x1="{left:.1f}" y1="{base:.1f}" x2="{right:.1f}" y2="{base:.1f}" '
            f'stroke="{AXIS}"/>',
            f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{base:.1f}" '
            f'stroke="{AXIS}"/>']


def _text(x: float, y: float, s: str, *, anchor: str = "start", size: int = 11,
          extra: str = "", colour: str = TEXT) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{colour}"{extra}>{escape(s)}</text>')


def _rect(x: float, y: float, w: float, h: float, colour: str, title: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{max(h, 0.0):.1f}" '
            f'fill="{colour}"><title>{escape(title)}</title></rect>')


def _svg(width: float, height: float, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT} role="img">'
            + "".join(body) + "</svg>")


def _clip(label: str, room_px: float) -> str:
    chars = max(4, int(room_px / CHAR_W))
    return label if len(label) <= chars else label[: chars - 1] + "…"


def _legend(x: float, y: float, domain: Sequence[str], colours: Sequence[str]) -> list[str]:
    out = []
    for i, (name, colour) in enumerate(zip(domain, colours, strict=True)):
        yy = y + i * 16
        out.append(f'<rect x="{x:.1f}" y="{yy:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, yy + 9, name))
    return out


def _x_axis(left: float, top: float, width: float, hi: float, title: str) -> list[str]:
    """A quantitative axis from 0 to ``hi`` along the bottom of a plot at ``top``."""
    out = [f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left + width:.1f}" y2="{top:.1f}" '
           f'stroke="{AXIS}"/>']
    for t in _ticks(hi, whole=True):
        x = left + width * t / hi if hi else left
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + 4:.1f}" '
                   f'stroke="{AXIS}"/>')
        out.append(_text(x, top + 15, _num(t), anchor="middle", size=10))
    if title:
        out.append(_text(left + width / 2, top + 29, title, anchor="middle"))
    return out


def _stack_colours(spec: Mapping[str, Any]) -> tuple[str, list[str], list[str]]:
    colour = spec["encoding"]["color"]
    return str(colour["field"]), list(colour["scale"]["domain"]), list(colour["scale"]["range"])


def _horizontal(spec: Mapping[str, Any]) -> str:
    """Bars along x, one row per category of y; stacked by colour when the spec says so."""
    enc = spec["encoding"]
    label, value = str(enc["y"]["field"]), str(enc["x"]["field"])
    width = float(spec.get("width", 380))
    values = list(spec["data"]["values"])
    stacked = "color" in enc
    totals: dict[str, float] = {}
    for v in values:
        totals[str(v[label])] = totals.get(str(v[label]), 0.0) + float(v[value])
    if enc["y"].get("sort") == "-x":
        cats = sorted(totals, key=lambda k: (-totals[k], k))
    else:
        cats = sorted(totals)
    if not cats:
        raise ValueError("no data to draw")
    limit = float(enc["y"].get("axis", {}).get("labelLimit", 160))
    room = min(limit, max(len(c) for c in cats) * CHAR_W) + 8
    left, top = room, 6.0
    legend_w = 0.0
    hi = max(totals.values()) or 1.0
    hi = max(_ticks(hi, whole=True)[-1], hi)
    body: list[str] = []
    if stacked:
        field, domain, colours = _stack_colours(spec)
        legend_w = 80.0
        colour_of = dict(zip(domain, colours, strict=True))
        offsets = dict.fromkeys(cats, 0.0)
        for v in sorted(values, key=lambda v: domain.index(str(v[field]))
                        if str(v[field]) in domain else len(domain)):
            cat, n = str(v[label]), float(v[value])
            y = top + cats.index(cat) * ROW_H
            x = left + width * offsets[cat] / hi
            body.append(_rect(x, y + BAR_GAP / 2, width * n / hi, ROW_H - BAR_GAP,
                              colour_of.get(str(v[field]), "#999"),
                              f"{cat} · {v[field]}: {_num(n)} {value}"))
            offsets[cat] += n
    else:
        colour = str(spec["mark"].get("color", "#4c78a8"))
        for i, cat in enumerate(cats):
            n = totals[cat]
            body.append(_rect(left, top + i * ROW_H + BAR_GAP / 2, width * n / hi,
                              ROW_H - BAR_GAP, colour, f"{cat}: {_num(n)} {value}"))
    for i, cat in enumerate(cats):
        body.append(_text(left - 6, top + i * ROW_H + ROW_H / 2 + 4, _clip(cat, room - 8),
                          anchor="end"))
    plot_h = len(cats) * ROW_H
    body += _x_axis(left, top + plot_h, width, hi, str(enc["x"].get("title") or value))
    if stacked:
        body += _legend(left + width + 16, top, domain, colours)
    return _svg(left + width + legend_w + 10, top + plot_h + 36, body)


def _vertical_stacked(spec: Mapping[str, Any]) -> str:
    """Ordinal x (e.g. minutes), counts stacked by colour along y."""
    enc = spec["encoding"]
    xf, yf = str(enc["x"]["field"]), str(enc["y"]["field"])
    field, domain, colours = _stack_colours(spec)
    colour_of = dict(zip(domain, colours, strict=True))
    values = list(spec["data"]["values"])
    cats = sorted({str(v[xf]) for v in values})
    if not cats:
        raise ValueError("no data to draw")
    totals = dict.fromkeys(cats, 0.0)
    for v in values:
        totals[str(v[xf])] += float(v[yf])
    hi = max(totals.values()) or 1.0
    hi = max(_ticks(hi, whole=True)[-1], hi)
    width, height = float(spec.get("width", 380)), 200.0
    left, top = 8 + len(_num(hi)) * CHAR_W + 8, 8.0
    step = width / len(cats)
    body: list[str] = []
    offsets = dict.fromkeys(cats, 0.0)
    for v in sorted(values, key=lambda v: domain.index(str(v[field]))
                    if str(v[field]) in domain else len(domain)):
        cat, n = str(v[xf]), float(v[yf])
        h = height * n / hi
        y = top + height - height * offsets[cat] / hi - h
        body.append(_rect(left + cats.index(cat) * step + min(2.0, step * 0.1), y,
                          step - min(4.0, step * 0.2), h, colour_of.get(str(v[field]), "#999"),
                          f"{cat} · {v[field]}: {_num(n)} {yf}"))
        offsets[cat] += n
    base = top + height
    body += _axes(left, top, left + width, base)
    for t in _ticks(hi, whole=True):
        y = base - height * t / hi
        body.append(f'<line x1="{left - 4:.1f}" y1="{y:.1f}" x2="{left:.1f}" y2="{y:.1f}" '
                    f'stroke="{AXIS}"/>')
        body.append(_text(left - 6, y + 3, _num(t), anchor="end", size=10))
    every = max(1, math.ceil(len(cats) * 16 / width))  # labels ~16 px apart at most
    label_h = 0.0
    for i, cat in enumerate(cats):
        if i % every:
            continue
        x, y = left + (i + 0.5) * step, base + 10
        body.append(_text(x, y, cat, anchor="end", size=10,
                          extra=f' transform="rotate(-40 {x:.1f} {y:.1f})"'))
        label_h = max(label_h, len(cat) * 5.6 * 0.64 + 6)
    title = str(enc["x"].get("title") or xf)
    body.append(_text(left + width / 2, base + label_h + 22, title, anchor="middle"))
    body += _legend(left + width + 16, top, domain, colours)
    return _svg(left + width + 96, base + label_h + 30, body)


def _histogram_panel(panel: Mapping[str, Any], x0: float) -> tuple[list[str], float, float]:
    """One layered panel: binned bars (and a threshold rule); returns SVG parts, width, height."""
    layers = list(panel["layer"])
    bars = layers[0]
    xenc = bars["encoding"]["x"]
    field = str(xenc["field"])
    lo, hi = (float(v) for v in xenc["bin"]["extent"])
    bins = int(xenc["bin"].get("maxbins", 20))
    scores = [float(v[field]) for v in bars["data"]["values"]]
    counts = [0] * bins
    for s in scores:
        i = min(bins - 1, max(0, int((s - lo) / (hi - lo) * bins))) if hi > lo else 0
        counts[i] += 1
    most = float(max(counts, default=0) or 1)
    top_n = max(_ticks(most, whole=True)[-1], most)
    w, h = float(panel.get("width", 220)), float(panel.get("height", 140))
    left, top = x0 + 8 + len(_num(top_n)) * CHAR_W + 8, 22.0
    base = top + h
    colour = str(bars["mark"].get("color", "#34495e"))
    body = [_text(left + w / 2, 14, str(panel.get("title", "")), anchor="middle", size=12,
                  extra=' font-weight="600"')]
    step = w / bins
    for i, n in enumerate(counts):
        if not n:
            continue
        a, b = lo + (hi - lo) * i / bins, lo + (hi - lo) * (i + 1) / bins
        bh = h * n / top_n
        body.append(_rect(left + i * step + 0.5, base - bh, step - 1, bh, colour,
                          f"score {_num(a)}–{_num(b)}: {n} matches"))
    body += _axes(left, top, left + w, base)
    for t in _ticks(top_n, whole=True):
        y = base - h * t / top_n
        body.append(_text(left - 6, y + 3, _num(t), anchor="end", size=10))
    for t in _ticks(hi, lo, 4):
        x = left + w * (t - lo) / (hi - lo) if hi > lo else left
        body.append(f'<line x1="{x:.1f}" y1="{base:.1f}" x2="{x:.1f}" y2="{base + 4:.1f}" '
                    f'stroke="{AXIS}"/>')
        body.append(_text(x, base + 15, _num(t), anchor="middle", size=10))
    body.append(_text(left + w / 2, base + 29, str(xenc.get("title") or field), anchor="middle"))
    for rule in layers[1:]:
        renc = rule["encoding"]["x"]
        for v in rule["data"]["values"]:
            t = float(v[str(renc["field"])])
            if hi > lo and lo <= t <= hi:
                x = left + w * (t - lo) / (hi - lo)
                mark = rule["mark"]
                dash = ",".join(str(d) for d in mark.get("strokeDash", []))
                body.append(
                    f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{base:.1f}" '
                    f'stroke="{mark.get("color", "#c0392b")}" '
                    f'stroke-width="{mark.get("strokeWidth", 2)}"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + f'><title>threshold {_num(t)}</title></line>'
                )
    return body, left - x0 + w + 12, base + 36


def _histograms(spec: Mapping[str, Any]) -> str:
    body: list[str] = []
    x, height = 0.0, 0.0
    for panel in spec["hconcat"]:
        parts, w, h = _histogram_panel(panel, x)
        body += parts
        x += w + 10
        height = max(height, h)
    if not body:
        raise ValueError("no panel to draw")
    return _svg(x, height, body)


def draw_svg(spec: Mapping[str, Any]) -> str:
    """SVG text for one of the report's chart specs; ``ValueError`` (or ``KeyError``) for a
    spec of a shape this module does not draw."""
    if "hconcat" in spec:
        return _histograms(spec)
    mark = spec.get("mark")
    kind = mark.get("type") if isinstance(mark, Mapping) else mark
    if kind != "bar":
        raise ValueError(f"unsupported mark {kind!r}")
    enc = spec["encoding"]
    if enc["y"].get("type") == "nominal" and enc["x"].get("type") == "quantitative":
        return _horizontal(spec)
    if enc["x"].get("type") == "ordinal" and "color" in enc:
        return _vertical_stacked(spec)
    raise ValueError("unsupported bar encoding")
