"""local.py: keypoints spread over the image, so that a crop which cuts away the busiest part
of an artwork still shares enough registered keypoints with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("pdqhash")
pytest.importorskip("faiss")
from PIL import Image, ImageDraw

from tdmguard.fingerprint.image import ImageFingerprinter, local
from tdmguard.index import BinaryHashIndex, BinarySegmentWriter


def _busy_corner(seed: int) -> Image.Image:
    """A 640 x 480 artwork: faint shapes everywhere, and one corner (the bottom-left quarter)
    full of strong, small detail, where the strongest ORB corners crowd."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (640, 480), (128, 128, 128))
    draw = ImageDraw.Draw(im)
    for _ in range(70):
        x, y = rng.integers(0, 620), rng.integers(0, 460)
        w, h = rng.integers(12, 60), rng.integers(12, 60)
        tone = int(rng.integers(70, 190))
        draw.rectangle((x, y, x + w, y + h), fill=(tone, tone, tone))
    for _ in range(400):
        x, y = rng.integers(0, 170), rng.integers(350, 475)
        tone = int(rng.choice([0, 255]))
        draw.rectangle((x, y, x + rng.integers(2, 7), y + rng.integers(2, 7)), fill=(tone,) * 3)
    return im


def test_spread_keypoints_cover_every_cell_and_keep_the_strongest() -> None:
    grey = np.asarray(_busy_corner(1).convert("L"))
    feats = local.detect(local.stretch(grey))
    strongest = local._orb().detect(local.stretch(grey), None)
    assert len(feats) > local.FEATURES  # the strongest ones first, then the spread ones
    first = {(round(k.pt[0], 2), round(k.pt[1], 2)) for k in strongest}
    assert first == {(round(x, 2), round(y, 2)) for x, y in feats.xy[: len(strongest)]}
    # the strongest keypoints crowd into the busy corner; the spread ones do not
    h, w = grey.shape
    corner = (feats.xy[:, 0] < w / 3) & (feats.xy[:, 1] > h * 2 / 3)
    assert corner[: len(strongest)].mean() > 0.6
    assert corner[len(strongest) :].mean() < corner[: len(strongest)].mean() / 2
    cells = (feats.xy[len(strongest) :, 1] * 4 // h) * 4 + feats.xy[len(strongest) :, 0] * 4 // w
    assert len(np.unique(cells)) >= 12


def test_a_crop_without_the_busy_corner_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = ImageFingerprinter()
    works = {f"art-{n}": _busy_corner(n) for n in range(1, 4)}

    def index_of(folder: Path) -> BinaryHashIndex:
        BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
        writer = BinarySegmentWriter(engine.aux_width)
        for work_id, im in works.items():
            im.save(tmp_path / f"{work_id}.png")
            fp = engine.extract(tmp_path / f"{work_id}.png")
            writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
        BinaryHashIndex.append_segment(folder, writer)
        return BinaryHashIndex.open(folder)

    def found(index: BinaryHashIndex) -> int:
        hits = 0
        for work_id, im in works.items():
            # the top-right 80 % of each side: the busy bottom-left corner is cut away
            crop = im.crop((128, 0, 640, 384))
            crop.save(tmp_path / "q.jpg", "JPEG", quality=85)
            matches = engine.match_file(tmp_path / "q.jpg", index)
            assert all(m.work_id == work_id for m in matches)  # never another work
            hits += bool(matches)
        return hits

    assert found(index_of(tmp_path / "spread")) == len(works)
    # the same without the spread keypoints (registration and query): not found, which is
    # what this test guards
    monkeypatch.setattr(local, "SPREAD_PER_CELL", 0)
    assert found(index_of(tmp_path / "strongest-only")) < len(works)


def test_hamming_by_words_equals_the_bytewise_count() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    bytewise = np.unpackbits(np.bitwise_xor(a, b), axis=1).sum(axis=1)
    assert np.array_equal(local.hamming(a, b), bytewise)
    assert np.array_equal(local.hamming(a[::2], b[1::2]), local.hamming(a[::2].copy(), b[1::2]))


def test_the_gate_verifies_weak_works_only_beside_a_match() -> None:
    """A work whose candidates hold fewer distinct query keypoints than the gate is not fitted
    unless another work matched; beside a match it is, as a rival (same answer as no gate)."""
    grey = np.asarray(_busy_corner(2).convert("L"))
    feats = local.detect(local.stretch(grey))
    n = len(feats)
    strong = np.arange(n)  # work 0: the image itself, every keypoint a candidate
    weak = np.arange(0, 40, 4)  # work 1: 10 of the same keypoints (a part it shares)
    query_row = np.concatenate([strong, weak]).astype(np.int64)
    work = np.concatenate([np.zeros(n), np.ones(weak.shape[0])]).astype(np.int64)
    desc = feats.descriptors[query_row]
    xy = feats.xy[query_row]
    ungated = local.verify(feats, query_row, work, desc, xy, min_inliers=6)
    gated = local.verify(feats, query_row, work, desc, xy, min_inliers=6, gate=14)
    assert [m.work for m in ungated] == [m.work for m in gated] == [0, 1]
    assert [m.inliers for m in ungated] == [m.inliers for m in gated]
    # without the match, the weak work alone is not fitted at all
    alone = work == 1
    args = (feats, query_row[alone], work[alone], desc[alone], xy[alone], None, 6)
    assert local.verify(*args, gate=14) == []
    assert len(local.verify(*args)) == 1


def test_a_strong_work_short_of_distinctive_keypoints_is_fitted_only_beside_a_match() -> None:
    """The gate's first pass fits only works whose distinctive pairs (Lowe's ratio test) still
    hold `gate` query keypoints; a strong work short of them is fitted beside a match, as a
    rival, and then the answer is the ungated one."""
    grey = np.asarray(_busy_corner(2).convert("L"))
    feats = local.detect(local.stretch(grey))
    n = len(feats)
    # work 2: 20 query keypoints; 10 at their own place, 10 each at two places 50 px apart
    # with the same descriptor (a repeated part: the ratio test drops them)
    own, twice = np.arange(100, 110), np.arange(110, 120)
    rows = {
        0: np.arange(n),
        1: np.arange(0, 40, 4),
        2: np.concatenate([own, twice, twice]),
    }
    shift = np.zeros((30, 2))
    shift[20:] = 50.0
    query_row = np.concatenate(list(rows.values())).astype(np.int64)
    work = np.concatenate([np.full(len(r), w) for w, r in rows.items()]).astype(np.int64)
    desc = feats.descriptors[query_row]
    xy = feats.xy[query_row] + np.concatenate([np.zeros((n + 10, 2)), shift])
    ungated = local.verify(feats, query_row, work, desc, xy, min_inliers=6)
    gated = local.verify(feats, query_row, work, desc, xy, min_inliers=6, gate=14)
    assert [m.work for m in ungated] == [0, 1, 2]
    assert [(m.work, m.inliers, m.query_points) for m in gated] == [
        (m.work, m.inliers, m.query_points) for m in ungated
    ]
    # without the match, neither work 1 (weak) nor work 2 (strong, 10 distinctive) is fitted
    rest = work > 0
    args = (feats, query_row[rest], work[rest], desc[rest], xy[rest], None, 6)
    assert [m.work for m in local.verify(*args)] == [1, 2]
    assert local.verify(*args, gate=14) == []


def test_stretch_counts_as_bincount() -> None:
    """stretch's histogram (cv2.calcHist) gives np.bincount's lookup table."""

    def reference(grey: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(np.bincount(grey.reshape(-1), minlength=256))
        total = int(cumulative[-1])
        lo = int(np.searchsorted(cumulative, total * 0.005, side="right"))
        hi = int(np.searchsorted(cumulative, total * 0.995, side="left"))
        if hi - lo < 1:
            return grey
        lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255)
        return np.rint(lut).astype(np.uint8)[grey]

    rng = np.random.default_rng(3)
    for grey in (
        np.asarray(_busy_corner(4).convert("L")),
        rng.normal(60, 5, (300, 200)).clip(0, 255).astype(np.uint8),
        np.full((64, 64), 200, np.uint8),
        np.asarray(_busy_corner(5).convert("L"))[::2, 1::3],
    ):
        assert np.array_equal(local.stretch(grey), reference(grey))
