"""orb_once.py: a query's keypoints from one pyramid and one FAST pass are the ones
local.detect finds with three ORB runs (registration's), bit for bit and in the same order
(RANSAC samples the candidate pairs in keypoint order: another order gives other inlier
counts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("numba")  # without it orb_once.detect is local.detect
import cv2
from PIL import Image, ImageDraw

from tdmguard.fingerprint.image import local, orb_kernels, orb_once

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "image"


def _rows(feats: local.Features) -> list[tuple[int, float, float, bytes]]:
    """Every keypoint, in order."""
    return [
        (int(o), float(x), float(y), bytes(d))
        for o, (x, y), d in zip(feats.octave, feats.xy, feats.descriptors, strict=True)
    ]


def _shapes(size: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    im = Image.new("L", size, 128)
    draw = ImageDraw.Draw(im)
    for _ in range(120):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        w, h = int(rng.integers(3, 60)), int(rng.integers(3, 60))
        draw.ellipse((x, y, x + w, y + h), fill=int(rng.integers(0, 256)))
    noise = rng.normal(0, 4, (size[1], size[0]))
    return np.clip(np.asarray(im, np.float64) + noise, 0, 255).astype(np.uint8)


def _working(path: Path) -> np.ndarray:
    im = Image.open(path).convert("L")
    im.thumbnail((512, 512), Image.Resampling.BILINEAR)
    return np.asarray(im)


@pytest.mark.parametrize("name", ["armadillo.png", "dinosaur.png", "snail.png"])
def test_the_same_keypoints_and_descriptors_as_three_orb_runs(name: str) -> None:
    grey = local.stretch(_working(CORPUS / name))
    mine, theirs = orb_once.detect(grey), local.detect(grey)
    assert len(theirs) > local.MIN_INLIERS
    assert _rows(mine) == _rows(theirs)


@pytest.mark.parametrize(
    ("size", "seed"), [((512, 341), 1), ((341, 512), 2), ((512, 512), 3), ((97, 140), 4)]
)
def test_the_same_on_busy_images_of_any_shape(size: tuple[int, int], seed: int) -> None:
    grey = local.stretch(_shapes(size, seed))
    mine, theirs = orb_once.detect(grey), local.detect(grey)
    assert len(theirs) > local.FEATURES // 2 or size[0] < 200
    assert _rows(mine) == _rows(theirs)


def test_images_without_corners_or_too_small_give_none() -> None:
    for grey in (np.full((300, 400), 77, np.uint8), _shapes((40, 28), 5)):
        assert _rows(orb_once.detect(grey)) == _rows(local.detect(grey))
    assert len(orb_once.detect(np.full((300, 400), 77, np.uint8))) == 0


def test_fast_atan2_is_opencvs() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(-(1 << 21), 1 << 21, 20000).astype(np.float32)
    x = rng.integers(-(1 << 21), 1 << 21, 20000).astype(np.float32)
    y[:50], x[50:100], y[100:150] = 0, 0, rng.integers(-9, 9, 50)
    x[100:150] = rng.integers(-9, 9, 50)
    want = np.array([cv2.fastAtan2(float(b), float(a)) for b, a in zip(y, x, strict=True)])
    assert np.array_equal(orb_kernels.fast_atan2(y, x), want.astype(np.float32))



def test_flat_images_with_tied_scores_keep_orbs_order() -> None:
    """FAST scores are small integers and Harris responses of a repeated pattern tie: the
    order ORB leaves them in (std::nth_element, std::partition) is followed exactly."""
    tile = np.zeros((16, 16), np.uint8)
    tile[4:12, 4:12] = 200
    grey = np.tile(tile, (24, 32))  # 384 x 512, one square repeated
    grey[100:140, 200:260] = 90
    mine, theirs = orb_once.detect(grey), local.detect(grey)
    assert len(theirs) > 100
    assert _rows(mine) == _rows(theirs)


def test_without_numba_a_query_runs_orb_as_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    grey = local.stretch(_shapes((300, 200), 7))
    monkeypatch.setattr(orb_kernels, "retain_order", None)
    calls: list[int] = []
    real = local.detect
    monkeypatch.setattr(local, "detect", lambda g: calls.append(1) or real(g))
    assert _rows(orb_once.detect(grey)) == _rows(real(grey))
    assert calls == [1]
