"""Artworks and copies made for the image benchmark: low-detail originals (dark, foggy,
low-contrast, pastel gradients, plain covers with a small logo, blank), crops at random
positions and aspect-ratio renditions."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("gradient", "radial", "logo-cover", "night", "fog", "low-contrast")


@dataclass(frozen=True)
class Made:
    path: Path
    kind: str


def _pastel(rng: random.Random) -> np.ndarray:
    return np.array([rng.uniform(150, 250) for _ in range(3)])


def _size(rng: random.Random) -> tuple[int, int]:
    return rng.choice([(1200, 1200), (1600, 900), (900, 1200), (1000, 800)])


def gradient(rng: random.Random) -> Any:
    from PIL import Image

    w, h = _size(rng)
    a, b = _pastel(rng), _pastel(rng)
    angle = rng.uniform(0, np.pi)
    y, x = np.mgrid[0:h, 0:w]
    t = np.cos(angle) * x / w + np.sin(angle) * y / h
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    pixels = a[None, None] * (1 - t[..., None]) + b[None, None] * t[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def radial(rng: random.Random) -> Any:
    from PIL import Image

    w, h = _size(rng)
    a, b = _pastel(rng), _pastel(rng)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    y, x = np.mgrid[0:h, 0:w]
    t = np.hypot(x - cx, y - cy) / np.hypot(w, h)
    t = np.clip(t / max(float(t.max()), 1e-6), 0, 1)
    pixels = a[None, None] * (1 - t[..., None]) + b[None, None] * t[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def logo_cover(rng: random.Random, logo: Path) -> Any:
    from PIL import Image

    w, h = _size(rng)
    ground = tuple(int(v) for v in _pastel(rng)) if rng.random() < 0.5 else (
        tuple(rng.randrange(0, 60) for _ in range(3)))  # fmt: skip
    cover = Image.new("RGB", (w, h), ground)
    with Image.open(logo) as im:
        mark = im.convert("RGBA")
    side = round(min(w, h) * rng.uniform(0.12, 0.22))
    mark.thumbnail((side, side))
    x = round((w - mark.width) * rng.uniform(0.1, 0.9))
    y = round((h - mark.height) * rng.uniform(0.1, 0.9))
    cover.paste(mark, (x, y), mark)
    return cover


def night(im: Any) -> Any:
    from PIL import Image

    a = np.asarray(im.convert("RGB"), np.float32) / 255
    return Image.fromarray(np.clip(255 * 0.18 * a**2.2, 0, 255).astype(np.uint8))


def fog(im: Any) -> Any:
    from PIL import Image

    a = np.asarray(im.convert("RGB"), np.float32)
    return Image.fromarray(np.clip(0.2 * a + 0.8 * 210, 0, 255).astype(np.uint8))


def low_contrast(im: Any) -> Any:
    from PIL import Image

    a = np.asarray(im.convert("RGB"), np.float32)
    return Image.fromarray(np.clip(128 + 0.1 * (a - 128), 0, 255).astype(np.uint8))


def low_detail_set(
    out: Path,
    rng: random.Random,
    *,
    count: int,
    logos: Sequence[Path],
    photos: Sequence[Path] = (),
) -> list[Made]:
    """``count`` low-detail originals, kinds in turn (photo kinds only when ``photos``)."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in KINDS if photos or k not in ("night", "fog", "low-contrast")]
    made = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        if kind == "gradient":
            im = gradient(rng)
        elif kind == "radial":
            im = radial(rng)
        elif kind == "logo-cover":
            im = logo_cover(rng, logos[number % len(logos)])
        else:
            with Image.open(photos[number % len(photos)]) as src:
                base = src.convert("RGB")
            im = {"night": night, "fog": fog, "low-contrast": low_contrast}[kind](base)
        path = out / f"{kind}-{number:03d}.png"
        im.save(path, compress_level=1)
        made.append(Made(path, kind))
    return made


def blank(out: Path, rng: random.Random, count: int) -> list[Path]:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = out / f"blank-{number:03d}.png"
        Image.new("RGB", _size(rng), tuple(rng.randrange(256) for _ in range(3))).save(path)
        paths.append(path)
    return paths


def crop(im: Any, kx: float, ky: float, ax: float, ay: float) -> Any:
    """Keep ``kx`` of the width and ``ky`` of the height, the cut split by anchors 0..1."""
    w, h = im.size
    cw, ch = max(1, round(w * kx)), max(1, round(h * ky))
    x, y = round((w - cw) * ax), round((h - ch) * ay)
    return im.crop((x, y, x + cw, y + ch))


def random_resized_crop(im: Any, rng: random.Random, area: float) -> Any:
    """torchvision-style: keep ``area`` of the pixels, aspect ratio drawn log-uniformly in
    3/4..4/3, at a random position."""
    ratio = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
    kx = min(1.0, float(np.sqrt(area * ratio)))
    ky = min(1.0, area / kx)
    return crop(im, kx, ky, rng.random(), rng.random())


def portrait_crop(im: Any, rng: random.Random) -> Any:
    """A 4:5 portrait crop of a landscape image (or a 5:4 landscape crop of a portrait one),
    full height, at a random position."""
    w, h = im.size
    if w >= h:
        return crop(im, min(1.0, 0.8 * h / w), 1.0, rng.random(), 0.5)
    return crop(im, 1.0, min(1.0, 0.8 * w / h), 0.5, rng.random())


def aspect_rendition(im: Any, ratio: tuple[int, int]) -> Any:
    """The centre crop of ``im`` to ``ratio`` (a rendition in another aspect ratio)."""
    w, h = im.size
    want = ratio[0] / ratio[1]
    if w / h > want:
        return crop(im, h * want / w, 1.0, 0.5, 0.5)
    return crop(im, 1.0, w / want / h, 0.5, 0.5)


def copy_distortions(rng: random.Random) -> list[Callable[[Any], Any]]:
    """Copies a low-detail artwork should survive: resize, brightness, aspect stretch."""
    from PIL import Image, ImageEnhance

    def resized(im: Any) -> Any:
        f = rng.uniform(0.3, 0.8)
        return im.resize((max(16, round(im.width * f)), max(16, round(im.height * f))))

    return [
        resized,
        lambda im: ImageEnhance.Brightness(im).enhance(1.15),
        lambda im: ImageEnhance.Brightness(im).enhance(0.85),
        lambda im: im.resize(
            (round(im.width * 0.6), round(im.height * 0.75)), Image.Resampling.BICUBIC
        ),
    ]
