"""Calibration of the image engine's thresholds, on a set kept apart from the benchmark's.

    python -m benchmarks.image.calibrate

Calibration set: drawn from run.py's calibration split only (``split_of``): Wesnoth unit
portraits of the factions whose names sort in the first half, every 4th file of the
calibration openclipart categories (>= 200 px) and synthetic low-detail artworks (seed 1).
The benchmark's report split (``--split report``) holds none of these images.
Prints, per distortion, the distribution of local-feature inliers of the true work and of
the best wrong work, the PDQ stability margin of real and synthetic images, and colour-layout
distances of copies vs other low-detail images; the shipped thresholds were read off these.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.image import synth
from benchmarks.image.run import (
    CACHE,
    WESNOTH,
    calibration_categories,
    calibration_factions,
    ensure_debs,
    flatten,
)


def calibration_files() -> tuple[list[Path], list[Path]]:
    """(Wesnoth portraits, openclipart files >= 200 px) of the calibration set; run.py leaves
    them out of its references, distractors and queries."""
    from PIL import Image

    portraits = sorted((CACHE / "wd" / WESNOTH / "portraits").rglob("*.png"))
    first = set(calibration_factions())
    refs = [p for p in portraits if p.parent.name in first][::2][:60]
    root = CACHE / "oc" / "usr/share/openclipart/png"
    # the calibration split's categories only (run.py split_of): every 4th file of those
    clip = [p for c in calibration_categories() for p in sorted((root / c).rglob("*.png"))]
    clip = [p for p in clip if not p.is_symlink()][::4]
    sized: list[Path] = []
    for p in clip:
        try:
            with Image.open(p) as im:
                if min(im.size) >= 200 and im.size[0] * im.size[1] < 16e6:
                    sized.append(p)
        except Exception:
            continue
        if len(sized) >= 400:
            break
    return refs, sized


def main() -> None:
    from PIL import ImageEnhance

    from tdmguard.fingerprint.image import ImageFingerprinter, local
    from tdmguard.fingerprint.image import engine as eng
    from tdmguard.index import BinaryHashIndex, BinarySegmentWriter

    ensure_debs()
    rng = random.Random(1)
    portrait_refs, sized = calibration_files()
    refs = portrait_refs + sized[:60]
    distract = sized[60:300]
    unregistered = sized[300:400]  # queries of images registered nowhere (look-alikes)
    work = Path(tempfile.mkdtemp(prefix="tdmguard-image-cal-"))
    try:
        synthetic = synth.low_detail_set(work / "synth", rng, count=40, logos=sized[60:100])
        shipped_inliers, local.MIN_INLIERS = local.MIN_INLIERS, 5  # record raw counts
        engine = ImageFingerprinter()
        folder = work / "idx"
        BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
        writer = BinarySegmentWriter(engine.aux_width)
        margins: dict[str, list[float]] = {"real": [], "synthetic": []}
        for path in [*refs, *distract, *(s.path for s in synthetic)]:
            fp = engine.extract(path)
            kind = "synthetic" if path.parent == work / "synth" else "real"
            margins[kind].append(float(fp.meta.get("margin", 0.0)))
            writer.add(str(path), fp.keys, fp.aux, dict(fp.meta))
        BinaryHashIndex.append_segment(folder, writer)
        index = BinaryHashIndex.open(folder)
        cases = {
            "offcentre-80": lambda im: synth.crop(im, 0.8, 0.8, rng.random(), rng.random()),
            "rrc-area-50": lambda im: synth.random_resized_crop(im, rng, 0.5),
            "portrait-of-landscape": lambda im: synth.portrait_crop(im, rng),
            "jpeg-resize": lambda im: im,
        }
        cases["brightness-0.8"] = lambda im: ImageEnhance.Brightness(im).enhance(0.8)
        cases["centre-crop-10"] = lambda im: synth.crop(im, 0.9, 0.9, 0.5, 0.5)
        cases["unregistered"] = lambda im: im
        # PDQ: Hamming distance of the true work and of wrong works, with the lower PDQ
        # quality of the two rows (simple graphics hash with low quality)
        pdq_true: list[tuple[int, int]] = []
        pdq_wrong: list[tuple[int, int]] = []
        # local-feature evidence (inliers, coverage) of the true work and of wrong works,
        # straight from the local matcher (match() skips it after a sure PDQ match)
        local_true: list[tuple[int, float]] = []
        local_wrong: list[tuple[int, float]] = []
        for name, fn in cases.items():
            true_n: list[int] = []
            wrong_n: list[int] = []
            for path in unregistered if name == "unregistered" else refs:
                q = work / "q.jpg"
                im = fn(flatten(path))
                scale = rng.uniform(0.5, 1.0)
                im = im.resize(
                    (max(16, round(im.width * scale)), max(16, round(im.height * scale)))
                )
                im.save(q, "JPEG", quality=80)
                query = engine.extract_query(q)
                rows = query.aux[query.aux[:, 8] >= 0]
                if len(rows):
                    hits = index.search(eng._bytes(rows[:, :8]), eng.MATCH_MAX_DISTANCE)
                    best: dict[str, tuple[int, int]] = {}
                    for i in np.flatnonzero(hits.aux[:, 8] >= 0):
                        work_id = hits.work_ids[int(hits.work[i])]
                        quality = min(int(rows[hits.query_row[i], 8]), int(hits.aux[i, 8]))
                        cell = (int(hits.distance[i]), quality)
                        best[work_id] = min(best.get(work_id, cell), cell)
                    for work_id, cell in best.items():
                        (pdq_true if work_id == str(path) else pdq_wrong).append(cell)
                found = engine._match_local(query, index)
                loc = {m.work_id: (int(m.detail["inliers"]), float(m.detail["coverage"]))
                       for m in found}  # fmt: skip
                truth = loc.get(str(path), (0, 0.0))
                local_true.extend([truth] if name != "unregistered" else [])
                local_wrong.extend(v for k, v in loc.items() if k != str(path))
                true_n.append(truth[0])
                wrong_n.append(max((v[0] for k, v in loc.items() if k != str(path)), default=0))
            t, w = np.array(true_n), np.array(wrong_n)
            print(name)
            for limit in (6, 8, 10, 12, 14, 16, 20):
                print(
                    f"  inliers >= {limit}: recall {np.mean(t >= limit):.3f}  "
                    f"wrong {np.mean(w >= limit):.3f}"
                )
        lt, lw = np.array(local_true), np.array(local_wrong).reshape(-1, 2)
        print(
            f"local coverage (inliers >= {shipped_inliers}; reported, not a gate), "
            f"{len(lt)} true-work queries, {len(lw)} wrong matches:"
        )
        for limit in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            print(
                f"  coverage >= {limit:.2f}: true kept "
                f"{np.mean((lt[:, 0] >= shipped_inliers) & (lt[:, 1] >= limit)):.3f}  "
                f"wrong kept {int(np.sum((lw[:, 0] >= shipped_inliers) & (lw[:, 1] >= limit)))}"
            )
        if len(lw):
            print("  wrong matches' coverage percentiles 50/90/99/max:",
                  np.percentile(lw[:, 1], [50, 90, 99, 100]).round(3))  # fmt: skip
        found_true = lt[lt[:, 0] >= shipped_inliers]
        if len(found_true):
            print("  true matches' coverage percentiles 1/5/10/50:",
                  np.percentile(found_true[:, 1], [1, 5, 10, 50]).round(3))  # fmt: skip
        pt, pw = np.array(pdq_true).reshape(-1, 2), np.array(pdq_wrong).reshape(-1, 2)
        print(f"PDQ hits within {eng.MATCH_MAX_DISTANCE} bits by the lower quality of the pair:")
        for lo, hi in ((0, 30), (30, 50), (50, 80), (80, 101)):
            t = pt[(pt[:, 1] >= lo) & (pt[:, 1] < hi), 0]
            w = pw[(pw[:, 1] >= lo) & (pw[:, 1] < hi), 0]
            print(
                f"  quality {lo}-{hi - 1}: true {len(t)} (distance 50/95/99/max "
                f"{np.percentile(t, [50, 95, 99, 100]).round(1) if len(t) else '-'}), "
                f"wrong {len(w)} (distances {sorted(w.tolist())[:12]})"
            )
        print(
            "margin, real images: percentiles 1/5/50:",
            np.percentile(margins["real"], [1, 5, 50]).round(2),
        )
        print("margin, synthetic low-detail:", np.round(sorted(margins["synthetic"]), 1))
        # colour layout: copies vs other low-detail images
        same: list[float] = []
        other: list[float] = []
        from tdmguard.fingerprint.image import layout
        from tdmguard.fingerprint.image.decode import load_working

        descs = {s.path: layout.describe(load_working(s.path).colour) for s in synthetic}
        for s in synthetic:
            for distort in synth.copy_distortions(rng):
                q = work / "q.jpg"
                distort(flatten(s.path)).save(q, "JPEG", quality=75)
                d = layout.describe(load_working(q).colour)
                same.append(float(layout.distance(d, descs[s.path][None])[0]))
                others = np.stack([v for k, v in descs.items() if k != s.path])
                other.append(float(layout.distance(d, others).min()))
        print(
            "layout distance of copies: percentiles 50/95/99/max",
            np.percentile(same, [50, 95, 99, 100]).round(1),
        )
        print(
            "layout distance to the nearest other low-detail artwork: min/1/5 %",
            np.percentile(other, [0, 1, 5]).round(1),
        )
        _ = (eng, Any)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
