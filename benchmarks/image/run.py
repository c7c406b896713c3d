"""Image matching benchmark: tdmguard's image engine vs imagehash pHash on the same files.

    python -m benchmarks.image --quick     # ~20 minutes on the shared 2-core machine
    python -m benchmarks.image             # full, about an hour there

Data (cached under ``${TDMGUARD_CACHE:-~/.cache/tdmguard}/image``, fetched on first run):
Debian ``openclipart-png`` (public domain clip-art), ``wesnoth-1.16-data`` (painted portraits and
story illustrations, GPL-2+) and ``skimage.data`` (photographs). Files are de-duplicated by
content; images above 16 Mpx or under 200 px a side are not used as references.

Protocol:
* references: registered with ``ImageFingerprinter.extract`` (8 dihedral variants, trimmed
  region, canonical crops) into a ``BinaryHashIndex``, together with distractor images
  (other real images, also registered) until the index holds >= 100k distractor hashes (full).
* queries: each reference's pixels (alpha composited over white) distorted, written to a file,
  then read back end to end with ``match_file`` (what ``identify`` runs): resize x0.25/x0.5/x2, JPEG
  q30/50/90, brightness +-20 %, mirror, rotations 90/180/270, centre crops of 5/10/20 % of each
  side, a corner crop of 10 %, a random-offset crop of 10 % (harder than any registered crop:
  reported, no target), and 10 % black borders. Plus unregistered real images as queries.
* recall = the true work is among the matches; a false positive = a query whose matches
  include any other work. pHash (imagehash, 64 bits, match at Hamming <= 10, anchors.md section
  3) is run on the same query files against the same reference and distractor images (one
  hash per image: pHash has no dihedral variants).
* throughput: single process, faiss on one thread, decode included, per query file format.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.image import synth

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard")) / "image"
DEBS = {
    "openclipart-png": "oc",
    "wesnoth-1.16-data": "wd",
}
WESNOTH = "usr/share/games/wesnoth/1.16/data/core/images"
PHASH_MAX_DISTANCE = 10
TARGETS = {
    "resize": 0.98,
    "jpeg": 0.98,
    "brightness": 0.98,
    "mirror": 0.98,
    "rotate": 0.98,
    "crop-centre-10": 0.90,
    "crop-random-10": 0.90,
    "crop-offcentre-80": 0.90,
    "rendition": 0.97,
    "low-detail": 0.97,
}
#: figures before this version, shown beside: the fifth wave's (image-pdq/1; seed 7: the lead's
#: quiet run 2026-12-03 22:37; seed 11: the artwork helper's harness, same images and queries);
#: where the seventh wave changed a row, the sixth wave's too (the lead's quiet rerun,
#: 2026-12-04 03:12-03:17; "confident" = seed 7 / seed 11)
PREVIOUS = {
    "crop-random-10": "97.4% / 97.4%",
    "crop-offcentre-80": "96.2% / 92.3%; confident 88.5% / 89.7%",
    "rrc-area-70": "94.9%",
    "rrc-area-50": "85.9% / 89.7%; confident 80.8% / 85.9%",
    "portrait-crop": "93.6% / 89.7%; confident 88.5% / 87.2%",
    "low-detail-gradient": "95.0%",
    "low-detail-radial": "90.0%",
    "rendition": "98.1% / 97.1% (eval: ~94%)",
    "low-detail": "97.5% / 100% (eval: ~7% refused)",
    "low-detail-refused": "0 of 30; eval: ~7% refused",
    "speed-4mp": "sixth wave 115.9 / 160.8 at 1/8 scale, quiet; fifth 126.3 / 164.8; "
    "eval: ~12 img/s",
    "speed-4mp-unregistered": "sixth wave 30.5, quiet; fifth 40.2",
    "false-match": "sixth wave, confident: 10 (0.42%) / 19 (0.80%); fifth, every match "
    "counted: 26 of 2376 (1.09%) / 31 (1.30%)",
    "unregistered-matched": "sixth wave 9 (+ 6) / seed 11: 11; fifth 15 of 150",
}


# -- setup ----------------------------------------------------------------------------------
def ensure_peers() -> None:
    """imagehash (the peer) and scikit-image (photographs) are installed on demand."""
    missing = []
    for module, package in (("imagehash", "imagehash"), ("skimage", "scikit-image")):
        try:
            __import__(module)
        except ModuleNotFoundError:
            missing.append(package)
    if missing:
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        cmd = (
            [uv, "pip", "install", "--python", sys.executable, *missing]
            if Path(uv).exists()
            else [sys.executable, "-m", "pip", "install", *missing]
        )
        print("installing", *missing, flush=True)
        subprocess.run(cmd, check=True)


def ensure_debs() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for package, folder in DEBS.items():
        if (CACHE / folder).is_dir():
            continue
        debs = list(CACHE.glob(f"{package}_*.deb"))
        if not debs:
            print("apt-get download", package, flush=True)
            subprocess.run(["apt-get", "download", package], cwd=CACHE, check=True)
            debs = list(CACHE.glob(f"{package}_*.deb"))
        tmp = CACHE / f".{folder}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["dpkg", "-x", str(debs[0]), str(tmp)], check=True)
        tmp.rename(CACHE / folder)


def skimage_files() -> list[Path]:
    """skimage.data photographs written once as PNG files (the engine reads files)."""
    from PIL import Image
    from skimage import data

    out_dir = CACHE / "skimage"
    out_dir.mkdir(exist_ok=True)
    names = [
        "astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina",
        "moon", "coins", "page", "text", "logo", "brick", "grass", "gravel",
        "immunohistochemistry", "colorwheel", "microaneurysms", "eagle", "cell",
    ]  # fmt: skip
    files = []
    for name in names:
        path = out_dir / f"{name}.png"
        if not path.exists():
            try:
                pixels = getattr(data, name)()
            except Exception:  # an image missing from this version is skipped
                continue
            Image.fromarray(pixels).save(path)
        files.append(path)
    for number, pixels in enumerate(data.stereo_motorcycle()[:2]):
        path = out_dir / f"motorcycle_{number}.png"
        if not path.exists():
            Image.fromarray(pixels).save(path)
        files.append(path)
    return files


@dataclass(frozen=True)
class Source:
    path: Path
    origin: str  # skimage | wesnoth-portrait | wesnoth-story | openclipart | wesnoth-other
    width: int
    height: int


def collect() -> list[Source]:
    """Every usable real image, de-duplicated by content (openclipart ships duplicates)."""
    from PIL import Image

    candidates: list[tuple[Path, str]] = [(p, "skimage") for p in skimage_files()]
    for path in sorted((CACHE / "wd" / WESNOTH / "portraits").rglob("*.png")):
        candidates.append((path, "wesnoth-portrait"))
    for path in sorted((CACHE / "wd" / WESNOTH / "story").glob("*")):
        candidates.append((path, "wesnoth-story"))
    for path in sorted((CACHE / "oc" / "usr/share/openclipart/png").rglob("*.png")):
        candidates.append((path, "openclipart"))
    for path in sorted((CACHE / "wd" / "usr/share/games/wesnoth/1.16").rglob("*.png")):
        if "/portraits/" not in str(path):
            candidates.append((path, "wesnoth-other"))
    seen: set[str] = set()
    out = []
    for path, origin in candidates:
        if path.is_symlink() or not path.is_file():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        try:
            with Image.open(path) as im:
                width, height = im.size
        except Exception:  # unreadable files are not benchmark data
            continue
        if width * height > 16_000_000:
            continue
        out.append(Source(path, origin, width, height))
    return out


SPLITS = ("calibration", "report")


def _alternate(key: str, keys: list[str]) -> str:
    """Every other key of a sorted list goes to the calibration split."""
    return SPLITS[sorted(set(keys)).index(key) % 2]


def split_key(source: Source) -> str:
    """The unit a split keeps together: a whole openclipart category or Wesnoth faction (so
    that a look-alike family, which lives in one category or faction, is never on both
    sides), a Wesnoth story painting with its variants (``_nohumans``, ``_sun``), one
    photograph (the stereo pair together)."""
    path = source.path
    if source.origin == "openclipart":
        parts = path.parts
        return "oc:" + parts[parts.index("png") + 1]
    if source.origin == "wesnoth-portrait":
        return "wp:" + path.parent.name if path.parent.name != "portraits" else "wp:"
    if source.origin == "wesnoth-story":
        return "ws:" + path.stem.split("_")[0]
    if source.origin == "skimage":
        return "sk:" + path.stem.split("_")[0]
    # other Wesnoth images (distractors and unregistered queries only): by folder
    return "wo:" + path.parent.name


def clipart_categories() -> list[str]:
    return sorted(
        p.name for p in (CACHE / "oc" / "usr/share/openclipart/png").iterdir() if p.is_dir()
    )


def calibration_factions() -> list[str]:
    """The Wesnoth factions of the calibration split: those sorting in the first half."""
    folder = CACHE / "wd" / WESNOTH / "portraits"
    factions = sorted(p.name for p in folder.iterdir() if p.is_dir())
    return factions[: len(factions) // 2]


def calibration_categories() -> list[str]:
    """The openclipart categories of the calibration split: every other one, sorted."""
    return clipart_categories()[::2]


def split_of(sources: list[Source]) -> dict[Path, str]:
    """Each image's split: ``calibration`` (where thresholds are chosen) or ``report`` (where
    the figures are reported, never used to choose anything). Disjoint by construction:
    alternate openclipart categories, the Wesnoth factions sorting in the first half (as
    calibrate.py always used) against the second half, alternate story paintings and
    photographs, alternate folders of the other Wesnoth images."""
    keys: dict[str, list[str]] = {}
    for s in sources:
        k = split_key(s)
        keys.setdefault(k.split(":")[0], []).append(k)
    # categories and factions from the package's folders, so calibrate.py agrees
    keys["oc"] = ["oc:" + c for c in clipart_categories()]
    first_half = {"wp:" + f for f in calibration_factions()}
    out: dict[Path, str] = {}
    for s in sources:
        k = split_key(s)
        if k.startswith("wp:"):
            out[s.path] = SPLITS[0] if k in first_half else SPLITS[1]
        else:
            out[s.path] = _alternate(k, keys[k.split(":")[0]])
    return out


# -- distortions ------------------------------------------------------------------------------
def flatten(path: Path) -> Any:
    """The reference as a viewer shows it: RGB, transparency over white."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(ground, rgba).convert("RGB")
        return im.convert("RGB")


def _crop(im: Any, drop: float, ax: float, ay: float) -> Any:
    width, height = im.size
    cw, ch = round(width * (1 - drop)), round(height * (1 - drop))
    x, y = round((width - cw) * ax), round((height - ch) * ay)
    return im.crop((x, y, x + cw, y + ch))


def distortions(rng: random.Random) -> dict[str, tuple[str, Callable[[Any], Any], str]]:
    """name -> (group, transform on an RGB image, file format written)."""
    from PIL import Image, ImageEnhance, ImageOps

    def resize(f: float) -> Callable[[Any], Any]:
        return lambda im: im.resize(
            (max(1, round(im.width * f)), max(1, round(im.height * f))), Image.Resampling.BICUBIC
        )

    def corner(im: Any) -> Any:
        return _crop(im, 0.10, rng.choice([0.0, 1.0]), rng.choice([0.0, 1.0]))

    def anywhere(im: Any) -> Any:
        return _crop(im, 0.10, rng.random(), rng.random())

    def border(im: Any) -> Any:
        return ImageOps.expand(im, round(0.1 * max(im.size)), fill=(0, 0, 0))

    return {
        "resize-0.25": ("resize", resize(0.25), "PNG"),
        "resize-0.5": ("resize", resize(0.5), "PNG"),
        "resize-2": ("resize", resize(2.0), "PNG"),
        "jpeg-30": ("jpeg", lambda im: im, "JPEG30"),
        "jpeg-50": ("jpeg", lambda im: im, "JPEG50"),
        "jpeg-90": ("jpeg", lambda im: im, "JPEG90"),
        "brightness+20": ("brightness", lambda im: ImageEnhance.Brightness(im).enhance(1.2), "PNG"),
        "brightness-20": ("brightness", lambda im: ImageEnhance.Brightness(im).enhance(0.8), "PNG"),
        "mirror": ("mirror", ImageOps.mirror, "PNG"),
        "rotate-90": ("rotate", lambda im: im.transpose(Image.Transpose.ROTATE_90), "PNG"),
        "rotate-180": ("rotate", lambda im: im.transpose(Image.Transpose.ROTATE_180), "PNG"),
        "rotate-270": ("rotate", lambda im: im.transpose(Image.Transpose.ROTATE_270), "PNG"),
        "crop-centre-5": ("crop-centre-5", lambda im: _crop(im, 0.05, 0.5, 0.5), "PNG"),
        "crop-centre-10": ("crop-centre-10", lambda im: _crop(im, 0.10, 0.5, 0.5), "PNG"),
        "crop-centre-20": ("crop-centre-20", lambda im: _crop(im, 0.20, 0.5, 0.5), "PNG"),
        "crop-corner-10": ("crop-corner-10", corner, "PNG"),
        "crop-random-10": ("crop-random-10", anywhere, "PNG"),
        "border-10": ("border", border, "PNG"),
        # crops at random positions (issue #14): 80 % of each side, random-resized-crop
        # keeping 90 / 70 / 50 % of the area, a 4:5 full-height crop of a landscape image
        "crop-offcentre-80": (
            "crop-offcentre-80",
            lambda im: synth.crop(im, 0.8, 0.8, rng.random(), rng.random()),
            "JPEG85",
        ),
        "rrc-area-90": (
            "rrc-area-90",
            lambda im: synth.random_resized_crop(im, rng, 0.9),
            "JPEG85",
        ),
        "rrc-area-70": (
            "rrc-area-70",
            lambda im: synth.random_resized_crop(im, rng, 0.7),
            "JPEG85",
        ),
        "rrc-area-50": (
            "rrc-area-50",
            lambda im: synth.random_resized_crop(im, rng, 0.5),
            "JPEG85",
        ),
        "portrait-crop": ("portrait-crop", lambda im: synth.portrait_crop(im, rng), "JPEG85"),
        # renditions a publisher ships: other aspect ratios (centre crops) and a stretch
        "rendition-1:1": ("rendition", lambda im: synth.aspect_rendition(im, (1, 1)), "JPEG85"),
        "rendition-16:9": ("rendition", lambda im: synth.aspect_rendition(im, (16, 9)), "JPEG85"),
        "rendition-4:5": ("rendition", lambda im: synth.aspect_rendition(im, (4, 5)), "JPEG85"),
        "rendition-stretch": (
            "rendition",
            lambda im: im.resize((round(im.width * 0.75), im.height), Image.Resampling.LANCZOS),
            "JPEG85",
        ),
    }


def save(im: Any, path: Path, fmt: str) -> None:
    if fmt.startswith("JPEG"):
        im.save(path, "JPEG", quality=int(fmt[4:]))
    else:
        im.save(path, fmt, compress_level=1)


# -- pHash peer ---------------------------------------------------------------------------------
def phash_of(path: Path) -> int | None:
    """imagehash's pHash of the image as shown (transparency over white, as for PDQ)."""
    import imagehash

    try:
        return int(str(imagehash.phash(flatten(path))), 16)
    except Exception:  # counted as a miss, as for PDQ
        return None


def collection(path_or_id: str) -> str:
    """Which collection (one project's artists) an image comes from: near-duplicates inside a
    collection can be real derivatives (recolours, repaints, one template), across collections
    they cannot."""
    if "/low-detail/" in path_or_id:  # made from a Wesnoth portrait or an openclipart logo
        name = Path(path_or_id).name
        if name.startswith(("night", "fog", "low-contrast")):
            return "wesnoth"
        return "openclipart" if name.startswith("logo") else "synthetic"
    if "/oc/" in path_or_id:
        return "openclipart"
    if "/wd/" in path_or_id:
        return "wesnoth"
    return "skimage"


def twin(a: str, b: str, whole_hash: dict[str, np.ndarray], limit: int) -> bool:
    """Two registered references that are one artwork to PDQ: their whole images within the
    engine's sure-match distance (``PDQ_SURE``) of each other. No copy detector can tell a
    copy of one from a copy of the other (a drawing and its version with one fish moved);
    the false-match count is reported with and without these."""
    x, y = whole_hash.get(a), whole_hash.get(b)
    return x is not None and y is not None and int(np.count_nonzero(x != y)) <= limit


def popcount64(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def throughput(
    engine: Any, index: Any, registered: list[Source], work: Path, ph_codes: np.ndarray
) -> dict[str, Any]:
    """Query speed on web-typical files: the references as JPEG q85, longest side 1024 px
    (the size anchors.md section 3 measured); best of 3 passes to damp the shared machine."""
    from PIL import Image

    folder = work / "speed"
    folder.mkdir()
    files = []
    for number, s in enumerate(registered[:100]):
        im = flatten(s.path)
        im.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        path = folder / f"{number}.jpg"
        im.save(path, "JPEG", quality=85)
        files.append(path)
    pdq_s, ph_s = [], []
    for _ in range(3):
        t0 = time.process_time()
        for path in files:
            engine.match_file(path, index)
        pdq_s.append(time.process_time() - t0)
        t0 = time.process_time()
        for path in files:
            ph = phash_of(path)
            if ph is not None:
                popcount64(ph_codes ^ np.uint64(ph))
        ph_s.append(time.process_time() - t0)
    return {
        "jpeg_1024px_files": len(files),
        "pdq_jpeg_1024px_img_s": round(len(files) / min(pdq_s), 1),
        "phash_jpeg_1024px_img_s": round(len(files) / min(ph_s), 1),
    }


def throughput_4mp(
    engine: Any, index: Any, sources: list[Path], others: list[Path], work: Path
) -> dict[str, Any]:
    """Query speed on 4 Mpx JPEG photographs (issue #14): real images scaled to 2448 x 1632
    (or 1632 x 2448) with a little sensor-like grain, JPEG q90; median of 5 passes. Reports
    the whole identify path (``match_file``) on copies of registered images (``sources``)
    and on images registered nowhere (``others``: every stage runs), decoding alone, and
    the answers (copies found, unregistered images matched)."""
    from PIL import Image

    from tdmguard.fingerprint.image import QUERY_SIDE, load_working

    folder = work / "speed-4mp"
    folder.mkdir()
    rng = np.random.default_rng(4)

    def make(paths: list[Path], tag: str) -> list[tuple[Path, str]]:
        out_files = []
        for number, path in enumerate(paths):
            im = flatten(path)
            size = (2448, 1632) if im.width >= im.height else (1632, 2448)
            im = im.resize(size, Image.Resampling.BICUBIC)
            grain = rng.normal(0, 3.0, (size[1], size[0], 3))
            pixels = np.clip(np.asarray(im, np.float32) + grain, 0, 255).astype(np.uint8)
            out = folder / f"{tag}{number}.jpg"
            Image.fromarray(pixels).save(out, "JPEG", quality=90)
            out_files.append((out, str(path)))
        return out_files

    photos = [p for p in sources if "/wd/" in str(p) or "/skimage/" in str(p)][:30]
    copies = make(photos, "c")
    strangers = make([p for p in others if "/wd/" in str(p)][:30], "u")
    if not copies:
        return {}

    def best_rate(files: list[tuple[Path, str]], fn: Any) -> float:
        """Images per CPU-second of this process, the median of 5 passes."""
        times = []
        for _ in range(5):
            t0 = time.process_time()
            for path, _truth in files:
                fn(path)
            times.append(time.process_time() - t0)
        return round(len(files) / statistics.median(times), 1)

    found = sum(
        any(m.work_id == truth for m in engine.match_file(path, index)) for path, truth in copies
    )
    matched = sum(bool(engine.match_file(path, index)) for path, _ in strangers)
    sizes = sorted(p.stat().st_size for p, _ in copies)
    return {
        "jpeg_4mp_files": len(copies),
        "jpeg_4mp_median_mb": round(sizes[len(sizes) // 2] / 1e6, 2),
        "jpeg_4mp_identify_img_s": best_rate(copies, lambda p: engine.match_file(p, index)),
        "jpeg_4mp_decode_img_s": best_rate(
            copies, lambda p: load_working(p, colour=False, min_side=QUERY_SIDE, detail=True)
        ),
        "jpeg_4mp_copies_found": found,
        "jpeg_4mp_unregistered_files": len(strangers),
        "jpeg_4mp_unregistered_identify_img_s": best_rate(
            strangers, lambda p: engine.match_file(p, index)
        )
        if strangers
        else 0.0,
        "jpeg_4mp_unregistered_matched": matched,
        "jpeg_4mp_load_average": [round(v, 2) for v in os.getloadavg()],
    }


def montage(pairs: list[dict[str, Any]], out: Path) -> None:
    """False-positive pairs side by side (query's original | matched image), for a person to
    judge; written to the cache, not the repository."""
    from PIL import Image

    pairs = [p for p in pairs if p["truth"]][:12] + [p for p in pairs if not p["truth"]][:12]
    if not pairs:
        return
    cell = 128
    sheet = Image.new("RGB", (4 * cell, cell * ((len(pairs) + 1) // 2)), (128, 128, 128))
    for number, pair in enumerate(pairs):
        left = pair["truth"] or pair["query_file_source"]
        matched = pair["matched"].removeprefix("distractor:")
        for side, path in enumerate((left, matched)):
            try:
                im = flatten(Path(path))
            except Exception:
                continue
            im.thumbnail((cell - 4, cell - 4))
            x = (number % 2) * 2 * cell + side * cell
            sheet.paste(im, (x + 2, (number // 2) * cell + 2))
    sheet.save(out)


# -- the run --------------------------------------------------------------------------------------
def run(
    quick: bool,
    seed: int,
    split: str = "report",
    sweep: bool = False,
    speed_runs: bool = True,
    sweep_only: tuple[str, ...] = (),
) -> dict[str, Any]:
    import faiss

    from tdmguard import __version__
    from tdmguard.errors import MediaError
    from tdmguard.fingerprint.image import ImageFingerprinter
    from tdmguard.index import BinaryHashIndex, BinarySegmentWriter

    faiss.omp_set_num_threads(1)  # per-core numbers
    rng = random.Random(seed)
    ensure_peers()
    ensure_debs()
    everything = collect()
    # thresholds are chosen on the calibration split only (calibrate.py and --split
    # calibration); the report split's figures are never used to choose anything
    side = split_of(everything)
    sources = [s for s in everything if side[s.path] == split]
    by_origin: dict[str, list[Source]] = {}
    for s in sources:
        by_origin.setdefault(s.origin, []).append(s)
    for group in by_origin.values():
        rng.shuffle(group)

    def big(s: Source) -> bool:
        return min(s.width, s.height) >= 200

    n_oc, n_port, n_distract_hashes = (40, 20, 10_000) if quick else (300, 120, 100_000)
    refs = (
        [s for s in by_origin["skimage"] if big(s)]
        + by_origin["wesnoth-story"]
        + [s for s in by_origin["wesnoth-portrait"] if big(s)][:n_port]
        + [s for s in by_origin["openclipart"] if big(s)][:n_oc]
    )
    ref_paths = {s.path for s in refs}
    # Wesnoth's unit sprites and terrain tiles (< 200 px) are left out: they are animation
    # frames and tile variants of one another, near-duplicates by construction.
    pool = [
        s
        for origin in ("openclipart", "wesnoth-portrait", "wesnoth-other")
        for s in by_origin.get(origin, [])
        if s.path not in ref_paths
        and min(s.width, s.height) >= (64 if origin == "openclipart" else 200)
    ]
    rng.shuffle(pool)
    n_unregistered = 150 if quick else 1000
    unregistered, pool = pool[:n_unregistered], pool[n_unregistered:]
    # low-detail originals (issue #14): made from images that are registered nowhere else
    n_low = 30 if quick else 90
    photos = [s.path for s in pool if s.origin == "wesnoth-portrait"][: n_low // 2]
    logos = [s.path for s in pool if s.origin == "openclipart"][: n_low // 2]
    pool = [s for s in pool if s.path not in set(photos) | set(logos)]

    engine = ImageFingerprinter()
    work = Path(tempfile.mkdtemp(prefix="tdmguard-image-bench-"))
    try:
        # -- register references and distractors -------------------------------------------------
        writer = BinarySegmentWriter(engine.aux_width)
        ref_phash: list[tuple[str, int]] = []
        t0 = time.process_time()
        registered: list[Source] = []
        whole_hash: dict[str, np.ndarray] = {}  # whole-image PDQ bits of each reference
        refused: list[str] = []
        for s in refs:
            try:
                fp = engine.extract(s.path)
            except MediaError:
                refused.append(str(s.path))
                continue
            if len(fp) == 0:  # every hash under the quality gate: a registry refuses it
                refused.append(str(s.path))
                continue
            writer.add(str(s.path), fp.keys, fp.aux, dict(fp.meta))
            plain = (fp.aux[:, 8] >= 0) & (fp.aux[:, 9] == 0) & (fp.aux[:, 10] == 0)
            plain &= fp.aux[:, 11] == 0
            if plain.any():
                whole_hash[str(s.path)] = np.unpackbits(
                    np.ascontiguousarray(fp.aux[plain][0, :8], dtype="<i4").view(np.uint8)
                )
            registered.append(s)
            ph = phash_of(s.path)
            if ph is not None:
                ref_phash.append((str(s.path), ph))
        t_ref = time.process_time() - t0
        low = synth.low_detail_set(
            work / "low-detail", rng, count=n_low, logos=logos, photos=photos
        )
        low_refused: list[str] = []
        for made in low:
            fp = engine.extract(made.path)
            if len(fp) == 0:
                low_refused.append(f"{made.kind}: {fp.meta.get('reason', '')}")
                continue
            writer.add(str(made.path), fp.keys, fp.aux, dict(fp.meta))
            ph = phash_of(made.path)
            if ph is not None:
                ref_phash.append((str(made.path), ph))
        blanks = synth.blank(work / "blank", rng, 5)
        blank_reasons = sorted({str(engine.extract(p).meta.get("reason")) for p in blanks})
        blank_refused = sum(len(engine.extract(p)) == 0 for p in blanks)
        distract_hashes = 0
        distract_images = 0
        distract_phash: list[tuple[str, int]] = []
        t0 = time.process_time()
        for s in pool:
            if distract_hashes >= n_distract_hashes:
                break
            try:
                fp = engine.extract(s.path)
            except MediaError:
                continue
            writer.add(f"distractor:{s.path}", fp.keys, fp.aux, dict(fp.meta))
            distract_hashes += int((fp.aux[:, 8] >= 0).sum())  # PDQ rows, as before
            distract_images += 1
            ph = phash_of(s.path)
            if ph is not None:
                distract_phash.append((f"distractor:{s.path}", ph))
        t_distract = time.process_time() - t0
        registration_per_s = (len(registered) + distract_images) / (t_ref + t_distract)
        folder = work / "index"
        BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
        BinaryHashIndex.append_segment(folder, writer)
        t0 = time.process_time()
        index = BinaryHashIndex.open(folder)
        open_s = time.process_time() - t0
        print(
            f"registered {len(registered)} references + {distract_images} distractor images: "
            f"{len(index)} hashes ({distract_hashes} distractor); {registration_per_s:.0f} img/s",
            flush=True,
        )
        ph_ids = [w for w, _ in ref_phash + distract_phash]
        ph_codes = np.array([h for _, h in ref_phash + distract_phash], dtype=np.uint64)

        # -- queries ---------------------------------------------------------------------------
        table = distortions(rng)
        qdir = work / "queries"
        qdir.mkdir()
        queries: list[tuple[str, str, str, Path]] = []  # (distortion, group, true id, file)
        source_of: dict[Path, str] = {}
        for number, s in enumerate(registered):
            base = flatten(s.path)
            for name, (group, transform, fmt) in table.items():
                path = qdir / f"{number}-{name}.{'jpg' if fmt.startswith('JPEG') else 'png'}"
                save(transform(base), path, fmt)
                queries.append((name, group, str(s.path), path))
        copies = synth.copy_distortions(rng)
        for number, made in enumerate(low):
            if any(r.startswith(made.kind + ":") for r in low_refused):
                continue
            base = flatten(made.path)
            for k, distort in enumerate(copies):
                path = qdir / f"low{number}-{k}.jpg"
                save(distort(base), path, "JPEG75")
                queries.append((f"low-detail-{made.kind}", "low-detail", str(made.path), path))
        for number, s in enumerate(unregistered):
            path = qdir / f"u{number}.jpg"
            save(flatten(s.path), path, "JPEG75")
            source_of[path] = str(s.path)
            queries.append(("unregistered", "unregistered", "", path))
        print(f"{len(queries)} query files written", flush=True)

        pdq_found: list[bool] = []
        pdq_fp: list[bool] = []
        # issue 14's "false matches" are confident ones: a match the engine rates as review
        # (detail["confidence"]) never excludes on its own (vocab.cap_on_thin_evidence); they
        # are counted apart, and recall is given at any level and confident
        found_confident: list[bool] = [False] * len(queries)
        wrong_review: list[bool] = [False] * len(queries)  # wrong works, every one review
        evidence: list[dict[str, Any]] = []  # every query's matches, for the calibration
        pdq_err = 0
        ph_found: list[bool] = []
        ph_fp: list[bool] = []
        pdq_time: dict[str, float] = {"jpg": 0.0, "png": 0.0}
        ph_time: dict[str, float] = {"jpg": 0.0, "png": 0.0}
        count: dict[str, int] = {"jpg": 0, "png": 0}
        fp_examples: list[dict[str, Any]] = []
        misses: dict[str, list[str]] = {}
        distances: list[int] = []
        order = list(range(len(queries)))
        rng.shuffle(order)  # interleave formats and origins so machine noise spreads evenly
        results: list[tuple[bool, bool, bool, bool]] = [(False, False, False, False)] * len(queries)
        # per query: distance of the true work and of the closest wrong work (None: no hit)
        true_d: list[int | None] = [None] * len(queries)
        wrong_d: list[int | None] = [None] * len(queries)
        wrong_pairs = [0, 0]  # (query, other indexed image) pairs within the threshold
        cross = [0, 0]  # queries matching an image of another collection (PDQ, pHash)
        methods: dict[str, int] = {}  # which descriptor found the true work
        twin_only = 0  # false-match queries whose only wrong works are registered twins
        from tdmguard.fingerprint.image import engine as engine_mod

        wall0 = time.perf_counter()
        for i in order:
            name, _group, truth, path = queries[i]
            ext = path.suffix[1:]
            count[ext] += 1
            t0 = time.process_time()
            try:
                matches = engine.match_file(path, index)
            except MediaError:
                matches = []
                pdq_err += 1
            pdq_time[ext] += time.process_time() - t0
            found = any(m.work_id == truth for m in matches)
            found_confident[i] = any(m.work_id == truth and not m.needs_review for m in matches)
            wrong_any = [m for m in matches if m.work_id != truth]
            wrong = [m for m in wrong_any if not m.needs_review]
            wrong_review[i] = bool(wrong_any) and not wrong
            if matches:
                evidence.append(
                    {
                        "query": name,
                        "truth": truth,
                        "matches": [
                            {"work": m.work_id, "true": m.work_id == truth, **dict(m.detail)}
                            for m in matches
                        ],
                    }
                )
            if (
                wrong
                and truth
                and all(twin(truth, m.work_id, whole_hash, engine_mod.PDQ_SURE) for m in wrong)
            ):
                twin_only += 1
            if found:
                distances.append(
                    int(next(m.detail.get("hamming", 0) for m in matches if m.work_id == truth))
                )
            if not found and truth and len(misses.setdefault(name, [])) < 5:
                misses[name].append(truth)
            if wrong_any:
                fp_examples.append(
                    {
                        "query": name,
                        "query_file_source": source_of.get(path, ""),
                        "truth": truth,
                        "matched": wrong_any[0].work_id,
                        "hamming": wrong_any[0].detail.get("hamming"),
                        "method": wrong_any[0].detail.get("method"),
                        "confidence": wrong_any[0].detail.get("confidence"),
                    }
                )
            t0 = time.process_time()
            ph = phash_of(path)
            if ph is None:
                ph_hits: set[str] = set()
            else:
                dist = popcount64(ph_codes ^ np.uint64(ph))
                ph_hits = {ph_ids[j] for j in np.flatnonzero(dist <= PHASH_MAX_DISTANCE)}
            ph_time[ext] += time.process_time() - t0
            results[i] = (found, bool(wrong), truth in ph_hits, bool(ph_hits - {truth}))
            wrong_pairs[0] += len(wrong)
            wrong_pairs[1] += len(ph_hits - {truth})
            home = collection(truth or source_of.get(path, ""))
            cross[0] += any(collection(m.work_id) != home for m in wrong_any)
            cross[1] += any(collection(w) != home for w in ph_hits - {truth})
            hit = [int(m.detail.get("hamming", 0)) for m in matches if m.work_id == truth]
            for m in matches:
                if m.work_id == truth:
                    methods[str(m.detail.get("method"))] = (
                        methods.get(str(m.detail.get("method")), 0) + 1
                    )
            true_d[i] = hit[0] if hit else None
            wrong_d[i] = min((int(m.detail.get("hamming", 0)) for m in wrong), default=None)
        wall_s = time.perf_counter() - wall0
        for found, wrong, pfound, pwrong in results:
            pdq_found.append(found)
            pdq_fp.append(wrong)
            ph_found.append(pfound)
            ph_fp.append(pwrong)
        decision_sweep: dict[str, Any] = {}
        if sweep:
            from benchmarks.image.sweep import sweep as run_sweep

            decision_sweep = run_sweep(engine, index, queries, sweep_only)
        speed: dict[str, Any] = {}
        if split == "report" and speed_runs:  # speed is measured on the report split only
            speed = throughput(engine, index, registered, work, ph_codes)
            speed |= throughput_4mp(
                engine, index, [s.path for s in registered], [s.path for s in unregistered], work
            )
        montage(fp_examples, CACHE / "false-positive-pairs.png")
        (CACHE / f"evidence-{split}-{seed}.json").write_text(json.dumps(evidence) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # -- tables ------------------------------------------------------------------------------------
    rows: dict[str, dict[str, Any]] = {}
    for (name, group, truth, _), found, sure, pfound in zip(
        queries, pdq_found, found_confident, ph_found, strict=True
    ):
        if not truth:
            continue
        row = rows.setdefault(name, {"group": group, "n": 0, "pdq": 0, "sure": 0, "phash": 0})
        row["n"] += 1
        row["pdq"] += found
        row["sure"] += sure
        row["phash"] += pfound
    per_origin: dict[str, dict[str, float]] = {}
    origin_of = {str(s.path): s.origin for s in registered}
    for (name, _group, truth, _), found in zip(queries, pdq_found, strict=True):
        if truth and name != "crop-random-10":
            cell = per_origin.setdefault(origin_of.get(truth, "low-detail"), {"n": 0, "found": 0})
            cell["n"] += 1
            cell["found"] += found
    n_q = len(queries)
    sweep = {}
    for limit in (16, 20, 24, 28, 31):
        by_group: dict[str, list[bool]] = {}
        for (name, group, truth, _), d in zip(queries, true_d, strict=True):
            if truth and name != "crop-random-10":
                by_group.setdefault(group, []).append(d is not None and d <= limit)
        false = sum(1 for d in wrong_d if d is not None and d <= limit)
        sweep[str(limit)] = {
            "recall": {g: round(sum(v) / len(v), 4) for g, v in by_group.items()},
            "queries_with_false_match": false,
            "false_match_rate": false / n_q,
        }
    n_unreg = sum(1 for q in queries if not q[2])
    n_images = len(registered) + distract_images
    clipart = {str(s.path) for s in registered if s.origin == "openclipart"}
    painted = [f for q, f in zip(queries, pdq_fp, strict=True) if q[2] and q[2] not in clipart]
    unreg_fp = sum(f for q, f in zip(queries, pdq_fp, strict=True) if not q[2])
    ph_unreg_fp = sum(f for q, f in zip(queries, ph_fp, strict=True) if not q[2])
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "note": "2 cores shared with other engineers' jobs: throughput is images per "
            "CPU-second of the benchmark process (process_time), wall time is noisier",
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "tdmguard": __version__,
        "engine": engine.engine,
        "mode": "quick" if quick else "full",
        "seed": seed,
        "split": split,
        "split_rule": "calibration: openclipart categories "
        f"{calibration_categories()}, Wesnoth factions {calibration_factions()}, every other "
        "story painting (with its variants) and skimage photograph; report: the rest",
        "decision_sweep": decision_sweep,
        "references": len(registered),
        "references_refused_low_quality_or_unreadable": refused,
        "low_detail_references": len(low),
        "low_detail_by_kind": {k: sum(m.kind == k for m in low) for k in synth.KINDS},
        "low_detail_refused": low_refused,
        "blank_images": len(blanks),
        "blank_refused": blank_refused,
        "blank_reasons": blank_reasons,
        "true_match_method": methods,
        "references_by_origin": {
            o: sum(1 for s in registered if s.origin == o) for o in sorted(origin_of.values())
        },
        "distractor_images": distract_images,
        "distractor_hashes": distract_hashes,
        "index_hashes": len(index),
        "index_open_s": round(open_s, 4),
        "search_method": index.search_method,
        "queries": n_q,
        "unregistered_queries": n_unreg,
        "pdq_unreadable_queries": pdq_err,
        "recall": {
            name: {
                "group": r["group"],
                "n": r["n"],
                "pdq": round(r["pdq"] / r["n"], 4),
                "pdq_confident": round(r["sure"] / r["n"], 4),
                "phash": round(r["phash"] / r["n"], 4),
            }
            for name, r in rows.items()
        },
        "recall_by_origin": {
            o: round(c["found"] / c["n"], 4) for o, c in sorted(per_origin.items())
        },
        "median_hamming_of_true_match": statistics.median(distances) if distances else None,
        "false_positive_rate": {
            "pdq_per_query": sum(pdq_fp) / n_q,
            "pdq_per_pair": wrong_pairs[0] / (n_q * n_images),
            "pdq_queries_matching_another_collection": cross[0],
            "phash_queries_matching_another_collection": cross[1],
            "phash_per_pair": wrong_pairs[1] / (n_q * n_images),
            "pdq_painted_or_photo_queries": len(painted),
            "pdq_painted_or_photo_with_false_match": sum(painted),
            "pdq_queries_with_false_match": sum(pdq_fp),
            "pdq_queries_with_review_only_false_match": sum(wrong_review),
            "pdq_queries_with_false_match_any_level": sum(pdq_fp) + sum(wrong_review),
            "pdq_unregistered_with_review_only_match": sum(
                r for q, r in zip(queries, wrong_review, strict=True) if not q[2]
            ),
            "pdq_queries_whose_only_false_match_is_a_registered_twin": twin_only,
            "registered_twin_pairs": sorted(
                {
                    tuple(sorted((a, b)))
                    for a in whole_hash
                    for b in whole_hash
                    if a < b and twin(a, b, whole_hash, engine_mod.PDQ_SURE)
                }
            ),
            "pdq_unregistered_with_match": unreg_fp,
            "phash_per_query": sum(ph_fp) / n_q,
            "phash_queries_with_false_match": sum(ph_fp),
            "phash_unregistered_with_match": ph_unreg_fp,
        },
        "threshold_sweep": sweep,
        "query_loop_wall_s": round(wall_s, 1),
        "false_positives_listed": min(len(fp_examples), 200),
        "false_positives": fp_examples[:200],  # the first 200 found
        "misses_first_5": misses,
        "throughput_per_core": {
            "pdq_query_img_s": {k: round(count[k] / pdq_time[k], 1) for k in count if count[k]},
            "phash_query_img_s": {k: round(count[k] / ph_time[k], 1) for k in count if count[k]},
            "pdq_query_img_s_all": round(n_q / sum(pdq_time.values()), 1),
            "phash_query_img_s_all": round(n_q / sum(ph_time.values()), 1),
            "pdq_registration_img_s": round(registration_per_s, 1),
            **speed,
        },
        "targets": TARGETS,
    }
    return result


def render(result: dict[str, Any]) -> str:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, r in result["recall"].items():
        groups.setdefault(r["group"], []).append((name, r))
    lines = [
        f"Image matching ({result['mode']} run, {result['date']}, {result['engine']}, "
        f"tdmguard {result['tdmguard']}; {result['machine']['platform']}, "
        f"{result['machine']['cpu_count']} shared cores)",
        "",
        f"{result['references']} references {result['references_by_origin']} "
        f"({len(result['references_refused_low_quality_or_unreadable'])} more refused at "
        "registration: no hash of PDQ quality >= 50); index of "
        f"{result['index_hashes']} rows incl. {result['distractor_hashes']} distractor PDQ hashes "
        f"from {result['distractor_images']} other real images ({result['search_method']} "
        f"search, opened in {result['index_open_s'] * 1000:.1f} ms); {result['queries']} queries "
        f"incl. {result['unregistered_queries']} unregistered images.",
        "",
        "| distortion | n | tdmguard (any level) | confident | pHash-64 (imagehash) | target "
        "| before |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result["recall"].items():
        target = TARGETS.get(r["group"]) or TARGETS.get(name)
        mark = ""
        if target is not None:
            mark = f">= {target:.0%} " + ("ok" if r["pdq"] >= target else "MISSED")
        before = PREVIOUS.get(name, "")
        sure = r.get("pdq_confident")
        lines.append(
            f"| {name} | {r['n']} | {r['pdq']:.1%} | "
            + (f"{sure:.1%}" if sure is not None else "-")
            + f" | {r['phash']:.1%} | {mark} | {before} |"
        )
    groups_total: dict[str, list[int]] = {}
    for r in result["recall"].values():
        cell = groups_total.setdefault(r["group"], [0, 0, 0])
        cell[0] += round(r["pdq"] * r["n"])
        cell[1] += r["n"]
        cell[2] += round(r.get("pdq_confident", r["pdq"]) * r["n"])
    for group in ("rendition", "low-detail"):
        if group in groups_total:
            hit, n, sure_hit = groups_total[group]
            target = TARGETS[group]
            lines.append(
                f"| **{group} (all)** | {n} | {hit / n:.1%} | {sure_hit / n:.1%} | | "
                f">= {target:.0%} "
                + ("ok" if hit / n >= target else "MISSED")
                + f" | {PREVIOUS.get(group, '')} |"
            )
    fpr = result["false_positive_rate"]
    tput = result["throughput_per_core"]
    ratio = tput["pdq_query_img_s_all"] / tput["phash_query_img_s_all"]
    lines += [
        "",
        "| measure | PDQ (tdmguard) | pHash-64 (imagehash) | target |",
        "|---|---|---|---|",
        f"| queries with a confident false match (issue 14's false matches) | "
        f"{fpr['pdq_queries_with_false_match']} of "
        f"{result['queries']} ({fpr['pdq_per_query']:.4%}) | "
        f"{fpr['phash_queries_with_false_match']} ({fpr['phash_per_query']:.4%}) | < 1 % "
        f"(before: {PREVIOUS['false-match']}) |",
        f"| ... queries whose wrong works are all rated review (never excluded on their own) | "
        f"{fpr.get('pdq_queries_with_review_only_false_match', '-')} | | |",
        f"| ... queries with a false match at any level (confident or review) | "
        f"{fpr.get('pdq_queries_with_false_match_any_level', '-')} of {result['queries']} | | |",
        f"| ... of which the only wrong work is a registered twin (references within "
        f"PDQ_SURE bits of each other: {len(fpr.get('registered_twin_pairs', []))} pairs) | "
        f"{fpr.get('pdq_queries_whose_only_false_match_is_a_registered_twin', '-')} | | |",
        f"| (query, other image) pairs within threshold | {fpr['pdq_per_pair']:.5%} | "
        f"{fpr['phash_per_pair']:.5%} | |",
        f"| queries matching an image of another collection | "
        f"{fpr['pdq_queries_matching_another_collection']} of {result['queries']} | "
        f"{fpr['phash_queries_matching_another_collection']} | |",
        f"| painted/photo queries (Wesnoth, skimage) with a false match | "
        f"{fpr['pdq_painted_or_photo_with_false_match']} of "
        f"{fpr['pdq_painted_or_photo_queries']} | | |",
        f"| unregistered images matched confidently (+ review only) | "
        f"{fpr['pdq_unregistered_with_match']} "
        f"(+ {fpr.get('pdq_unregistered_with_review_only_match', '-')}) of "
        f"{result['unregistered_queries']} | {fpr['phash_unregistered_with_match']} | "
        f"(before: {PREVIOUS['unregistered-matched']}) |",
        f"| query img/s per core, JPEG files | {tput['pdq_query_img_s'].get('jpg', 0)} | "
        f"{tput['phash_query_img_s'].get('jpg', 0)} | |",
        f"| query img/s per core, PNG files | {tput['pdq_query_img_s'].get('png', 0)} | "
        f"{tput['phash_query_img_s'].get('png', 0)} | |",
        f"| query img/s per core, all (PDQ/pHash = {ratio:.2f}) | "
        f"{tput['pdq_query_img_s_all']} | {tput['phash_query_img_s_all']} | |",
        f"| query img/s per core, JPEG q85 1024 px ({tput.get('jpeg_1024px_files', 0)} files) | "
        f"{tput.get('pdq_jpeg_1024px_img_s', '-')} | {tput.get('phash_jpeg_1024px_img_s', '-')} "
        "| >= 330 |",
        f"| query img/s per core, 4 Mpx JPEG photos ({tput.get('jpeg_4mp_files', 0)} files, "
        f"median {tput.get('jpeg_4mp_median_mb', 0)} MB; median of 5 passes): identify path / "
        "decode alone | "
        f"{tput.get('jpeg_4mp_identify_img_s', 0)} / {tput.get('jpeg_4mp_decode_img_s', 0)} "
        f"| | >= 100 (before: {PREVIOUS['speed-4mp']}) |",
        f"| 4 Mpx JPEG copies found / unregistered 4 Mpx photos matched | "
        f"{tput.get('jpeg_4mp_copies_found', '-')} of {tput.get('jpeg_4mp_files', 0)} / "
        f"{tput.get('jpeg_4mp_unregistered_matched', '-')} of "
        f"{tput.get('jpeg_4mp_unregistered_files', 0)} | | |",
        f"| load average (1, 5, 15 min) after the 4 Mpx passes | "
        f"{tput.get('jpeg_4mp_load_average', '-')} | | |",
        f"| query img/s per core, 4 Mpx JPEG photos registered nowhere (every stage runs) | "
        f"{tput.get('jpeg_4mp_unregistered_identify_img_s', '-')} | | >= 100 (before: "
        f"{PREVIOUS['speed-4mp-unregistered']}) |",
        f"| registration img/s per core | {tput['pdq_registration_img_s']} | | |",
        f"| low-detail originals refused at registration | "
        f"{len(result['low_detail_refused'])} of {result['low_detail_references']} "
        f"{result['low_detail_by_kind']} | | 0 (before: {PREVIOUS['low-detail-refused']}) |",
        f"| blank (one-colour) images refused, with the reason | "
        f"{result['blank_refused']} of {result['blank_images']}: {result['blank_reasons']} | | "
        "all |",
        f"| which descriptor found the true work | {result['true_match_method']} | | |",
        "",
        "",
        "Every figure here is at the shipped thresholds (a PDQ threshold sweep is in "
        "results.json, for reference only).",
        "",
        f"PDQ recall by origin (all distortions but crop-random-10): "
        f"{result['recall_by_origin']}; median Hamming distance of true matches "
        f"{result['median_hamming_of_true_match']}.",
    ]
    return "\n".join(lines)


def _brief(result: dict[str, Any]) -> str:
    """The issue's targets of one run, in one line."""
    recall = result["recall"]
    groups: dict[str, list[float]] = {}
    for r in recall.values():
        cell = groups.setdefault(r["group"], [0.0, 0.0])
        cell[0] += r["pdq"] * r["n"]
        cell[1] += r["n"]
    fpr = result["false_positive_rate"]

    def group(name: str) -> str:
        hit, n = groups.get(name, [0.0, 0.0])
        return f"{hit / n:.1%} of {int(n)}" if n else "-"

    twins = fpr.get("pdq_queries_whose_only_false_match_is_a_registered_twin")
    review = fpr.get("pdq_queries_with_review_only_false_match")
    return (
        f"false-match queries {fpr['pdq_queries_with_false_match']} of {result['queries']} "
        f"({fpr['pdq_per_query']:.2%}"
        + (f" confident; + {review} with review-only wrong works" if review is not None else "")
        + (f"; {twins} of them only a registered twin" if twins is not None else "")
        + f"); crop-offcentre-80 {group('crop-offcentre-80')}; "
        f"low-detail {group('low-detail')}; renditions {group('rendition')}; crop-random-10 "
        f"{group('crop-random-10')}; rrc-area-50 {group('rrc-area-50')}; portrait-crop "
        f"{group('portrait-crop')}; unregistered images matched "
        f"{fpr['pdq_unregistered_with_match']} of {result['unregistered_queries']}; "
        f"matches to another collection {fpr['pdq_queries_matching_another_collection']}"
    )


def other_runs() -> str:
    """The second draw of the report split and the calibration split, when run."""
    lines = []
    for path in sorted(HERE.glob("results-seed*.json")):
        other = json.loads(path.read_text(encoding="utf-8"))
        lines.append(
            f"- report split, second draw (`--seed {other['seed']}`, {other['date']}): "
            + _brief(other)
        )
    cal_path = HERE / "results-calibration.json"
    if cal_path.exists():
        cal = json.loads(cal_path.read_text(encoding="utf-8"))
        lines.append(
            f"- calibration split (`--split calibration --sweep`, seed {cal['seed']}, "
            f"{cal['date']}; where the thresholds were chosen, so NOT a result; at the "
            "thresholds shipped before): " + _brief(cal)
        )
        chosen = cal.get("decision_sweep", {}).get("chosen")
        together = cal.get("decision_sweep", {}).get("chosen_together", {})
        if chosen:
            lines.append(
                f"  thresholds chosen there by the sweep's rule: {chosen}; together there "
                f"({cal['decision_sweep'].get('chosen_together_values', chosen)}): "
                f"recall {together.get('recall')}, false-match queries "
                f"{together.get('false_match_queries')} (shipped before: recall "
                f"{cal['decision_sweep']['shipped']['recall']}, "
                f"{cal['decision_sweep']['shipped']['false_match_queries']})"
            )
    if not lines:
        return ""
    return "\n\nOther runs of this version:\n\n" + "\n".join(lines) + "\n"


NOTES = """
**Eighth wave (artwork helper, branch image9, 2026-12-04 17:38-18:30 UTC).** Query speed of
4 Mpx photos registered nowhere (issue 14's one missed speed target), with the same answers:
`match_file`'s answers, every detail field (inliers, rivals, ratings), equal main's on all
2,406 query files of the report split (seed 7, the 48 4 Mpx files included), and the quality
rows of the table and of `--seed 11` equal the seventh wave's, row for row (results.json,
results-seed11.json: only timings and temporary paths differ). Registration is unchanged
(`image-pdq/1`, no re-registration). What changed and why:

1. A query's ORB keypoints from one pyramid and one FAST pass (`orb_once.py`).
   `local.detect` runs ORB three times (the strongest 200 with descriptors, 1,500 spread
   candidates, the chosen spread keypoints' descriptors), and each run builds the same
   8-level pyramid and runs FAST on it (FAST alone: 1.2 ms a run on a 512 px photo).
   `orb_once` builds the pyramid once, runs FAST once and makes both of ORB's selections
   from it as `ORB_Impl::computeKeyPoints` does (border, best 2n by FAST score, ORB's integer
   Harris formula in float32, best n by Harris, intensity-centroid angles with OpenCV's
   `fastAtan2` polynomial), then one ORB `compute` for both sets. ORB's "best n" is
   `retainBest`: libstdc++'s `std::nth_element`, then `std::partition`; the order they leave
   the keypoints in matters, because RANSAC samples the candidate pairs in keypoint order. A
   first version with the same keypoints in another order changed the inlier counts of 92 of
   the 2,406 seed-7 answers by 1-5 (no work or rating changed) and lost one seed-11
   rrc-area-50 crop (89.7 -> 88.5 %), so it was dropped; the shipped one follows both
   algorithms step for step. The selection, the Harris responses and the orientations are
   loops compiled by numba, which the audio extra brings and the index already uses; without
   numba, or where `nth_element` would fall back to its heap select, a query runs
   `local.detect`. Keypoints, descriptors and order equal `local.detect`'s on 840 benchmark
   images. `orb_once.detect` 3.8 ms against `local.detect` 5.2 ms (0.72x, 18 photos, load 5).
   Cost: numba compiles the loops once per installation (4-8 s here, its cache then kept) and
   loads them once per process (~0.3 s, at the first query that reaches ORB): nothing for a
   scan, noticeable for a one-image `identify`.
2. Verification: a strong work (candidate pairs on >= 14 query keypoints) is fitted first
   only when its distinctive pairs (Lowe's ratio test) still hold 14 query keypoints: only
   those can match. The other strong works are fitted, as the weak ones already were, only
   beside a match, as rivals; then the fits and their order are those of before, and without
   a match their fits were never read. Two of the 18 unregistered photos fitted 46 and 19
   works (5.6 and 2.4 ms) and matched none; now 34 and 12 (3.1 and 1.2 ms).
3. The contrast stretch before ORB counts its histogram with `cv2.calcHist` (np.bincount
   widened every pixel to 64 bits first): 0.33 -> 0.13 ms, the same lookup table (tested).

Figures (helper's runs on the shared 2-core machine while two other helpers' jobs ran):

- Interleaved A/B against main's engine (9f18ea6; a worker process each, CPU time, the
  benchmark's 4 Mpx files; a warm-up round, then 8 rounds, the 18 photos registered nowhere
  passed 3 times a round): photos registered nowhere main 70.9 -> **78.6 img/s per core,
  1.13x** (range 1.05-1.16), copies 147.6 -> 149.5 (1.01x), 1024 px JPEG 840.9 -> 859.9
  (1.00x); load average 4.5-5.5; answers identical on all 126 files. Again on the final tree
  (cd9d959, the loops moved to `orb_kernels.py`; 18:29 UTC, load 3.1-3.4): 78.3 -> **89.9
  img/s, 1.15x** (range 1.09-1.23), copies 1.02x, 1024 px JPEG 1.01x, answers identical.
- Where an unregistered 4 Mpx query's CPU goes (wrapped stages, 18 photos, median of 5
  passes, two runs each, load 5.2-5.5), main -> this: decode 4.54 / 4.58 -> 4.64 / 4.46 ms,
  PDQ hash and search 0.79 / 0.83 -> 0.91 / 0.75, fit to 512 px 0.70 / 0.67 -> 0.67 / 0.66,
  ORB with stretch and keys **5.93 / 5.97 -> 4.50 / 4.34**, local look-up and verification
  **1.30 / 1.29 -> 1.15 / 1.08**, total 13.46 / 13.50 -> 12.12 / 11.47 ms.
- The table's rows (this run, 18:17-18:19 UTC, load average 4.4-4.8): 4 Mpx photos registered
  nowhere 79.3 img/s per core, copies 141.5, 1024 px JPEG 970.7; pHash's own rows fell as much
  against the seventh wave's quiet run (JPEG 513 -> 420): load, not the engine. An earlier
  run of this branch (before the numba loops of step 1, load 5.4-5.7) read 88.1 and 174.4.
  On a quiet machine main read 83.4 (lead's rerun of the seventh wave); 1.13 times that is
  about 94-96 img/s. **Target 100 missed.** What is left is mostly C: libjpeg's entropy decoding
  (~3.9 ms at 1/4 scale, ~3.6 at 1/8: every coefficient is read at any scale), FAST (1.2 ms),
  ORB's compute (0.8 ms: its own pyramid and blur), Pillow's resampling to 512 px (0.6 ms);
  none of it can be cut without changing the keypoints.
- Tried and not shipped: all pyramid levels on one canvas for one FAST, Sobel and window
  pass (2.7x slower: the large fresh arrays cost cache misses and page faults); Harris of all
  levels in one einsum (5 % slower than per level); Pillow's bilinear resampling to 512 px
  as a numba loop (bit for bit Pillow's on 83 photos, 0.68 -> 0.54 ms: too little for more
  code).

**Seventh wave (artwork helper, branch image8, 2026-12-04 15:28-16:10 UTC).** The table above
is this version, run by the helper on the shared 2-core machine (load average 3-4.5 from other
jobs; this machine is faster than the lead's: main's engine gives 54-58 img/s here on the 4 Mpx
photos registered nowhere, 30.5 on the lead's quiet run, so compare img/s through the A/B
ratios below, not with the "before" column). What changed and why:

1. ORB verification is gated: RANSAC runs only for works whose candidate pairs hold >= 14
   distinct query keypoints (no other work can reach 14 inliers); weaker works (down to 6) are
   fitted only beside a match, to measure the rival's evidence. The sixth wave fitted every
   work with 6+ chance hits on every query to count rivals. Same answers on every query.
   Descriptor distances are popcounts of 4 64-bit words instead of 32 bytes, and
   `match_file`'s colour-layout stage no longer runs ORB a second time.
2. A 4 Mpx JPEG query is decoded once, at 1/4 scale (the working size's), and its PDQ image is
   that decode's 2 x 2 block means (within 1 grey level of the 1/8 decode, mean 0.06 levels
   on the 4 Mpx files); the ORB image is the same pixels a second decode gave. Entropy decoding
   costs the same at every scale (1/8: 3.4 ms, 1/4: 3.9 ms here), so a query that reaches ORB
   no longer decodes twice, and one that PDQ settles pays ~0.5 ms more.
3. Local matches are rated by their own evidence: against every rival (another work verified
   on the same query keypoints), the inlier keypoints the rival lacks must be >= `LOCAL_OWN_MIN`
   (14 = `local.MIN_INLIERS`: a match's worth on their own) and >= `LOCAL_MARGIN` (3.5) times
   the rival's inliers that the match lacks. The sixth wave compared whole inlier counts
   (>= 2.5x), so a crop keeping a large part two family members share was rated review.
   Chosen on the calibration split (`--split calibration --sweep --sweep-only
   PDQ_MARGIN,LOCAL_MARGIN,LOCAL_OWN_MIN`, results-calibration.json): LOCAL_MARGIN 3.0 / 3.5 /
   4.0 / 5.0 give 4 / 3 / 3 / 3 confident false-match queries at recall 97.93 / 97.71 / 97.66 /
   97.53 %, so 3.5; LOCAL_OWN_MIN 8, 11 and 14 tie there (3 false, 97.71 %; the rule keeps the
   shipped 14; 0: 6 false). 14 rather than 8 because with 8 the report split (seed 7) had two
   more unregistered icons rated confident (11-12 inliers of their own beside a sibling): a
   choice of principle that the calibration split cannot tell from 8, said here because the
   report split prompted it. PDQ_MARGIN stays 6.

Figures, report split (seed 7 / seed 11; sixth wave in brackets):

- crop-offcentre-80 confident **91.0 %** (88.5) / **89.7 %** (89.7): target 90 % met on seed
  7, one query short on seed 11; at any level 96.2 / 92.3 % (unchanged). The two seed-11 crops
  still rated review show the part of the battlefield painting that its registered version
  without figures shares pixel for pixel (own evidence 25 vs 17 and 20 vs 17 keypoints): the
  query does not say which version it is.
- rrc-area-90 confident 93.6 % (92.3) / 96.2 % (94.9); rrc-area-70 88.5 % (88.5) / 88.5 %;
  rrc-area-50 83.3 % (80.8) / 85.9 % (85.9); portrait-crop 91.0 % (88.5) / 87.2 % (87.2);
  crop-random-10 94.9 % (94.9) / 93.6 % (93.6); every other row as the sixth wave's (any level
  unchanged everywhere; seed 11's resize, JPEG, brightness and rotation rows at 96-97 % were
  so before).
- confident false-match queries 11 of 2,376 (0.46 %; 10) / 19 (0.80 %; 19): target < 1 % met.
  Unregistered images matched confidently 10 (+ 5 review only) of 150 (9) / 11 (+ 6) (11):
  one over the sixth wave's on seed 7, an unregistered warning triangle of the same author's
  set as a registered one (103 inliers; 44 of its own against the rival triangle's 6): a real
  family member that no keypoint count tells from a crop.
- Query speed, interleaved A/B against main's engine in one harness (a throwaway script: two
  worker processes, main's tree and this one, timing alternate passes over the benchmark's
  4 Mpx files, CPU time per process, 9 rounds, first a warm-up; same answers on every file):
  photos registered nowhere (18 files) main 53.8 -> **76.6 img/s per core (1.42x**, range
  1.26-1.48), copies (30 files) 163.4 -> 161.4 (0.98x, range 0.95-1.01); load average 4.2-4.4.
  Again at load 2.3-2.5 (16:11 UTC, 9 rounds), with the 78 references as 1024 px JPEG q85 too:
  unregistered 55.6 -> 79.1 (1.44x, 1.13-1.46), copies 173.8 -> 168.1 (0.97x, 0.96-1.00),
  1024 px 1020.7 -> 1001.3 (0.98x, 0.97-1.00); same answers on all 126 files.
  The gate alone (step 1): 1.14x (1.12-1.94 over 5 rounds, load 2.7), copies 1.00x. On the
  lead's machine 1.42x would take the 30.5 img/s to about 43: **target 100 missed**.
- Where an unregistered 4 Mpx query's time goes now (cProfile, 18 files x 3, 18.8 ms a query
  with the profiler's overhead, load 3.9; main's engine 30.6 ms the same way): ORB 7.8 ms (42 %:
  the strongest 200 keypoints with descriptors 3.1, the 1,500 spread candidates 2.6, their
  descriptors 0.7, contrast stretch 0.5, LSH keys 0.4, selection 0.5); decoding 6.4 ms (34 %:
  libjpeg at 1/4 scale 5.1, Pillow's header, EXIF and draft 1.0, block means 0.1); fitting the
  ORB image 612 -> 512 px 1.1 ms (6 %); local look-up and verification 1.8 ms (10 %; RANSAC
  itself 0.2); PDQ hashing and search 1.3 ms (7 %). 100 img/s on the lead's machine would need
  about a third of this: ORB and the decode are each more than that budget.
- Tried and not shipped: one ORB pass for queries (the strongest 200 taken from the 1,500 spread
  candidates by ORB's own per-level shares, all descriptors in one call): 1.65x against main
  on unregistered photos (load 5.3; 1.44x without it, load 2.7), copies 1.02x, but it keeps
  only 76 % of the keypoints registration took (the 200-keypoint run filters by FAST score
  before the Harris ranking), and on the report
  split (seed 7) it lost 2 crops at any level (crop-offcentre-80 96.2 -> 94.9 %,
  crop-random-10 97.4 -> 96.2 %).

Issue #14 as the sixth wave left it (kept for reference; its figures are the sixth wave's).
The tables, then and now, are the REPORT split
(seed 7), which chose nothing (`split_of`: alternate openclipart categories, so a look-alike
family lives on one side only; Wesnoth factions; alternate story paintings with their
variants, and skimage photographs, the stereo pair together). Quick mode, 78 references a
split, run by the artwork helper on the shared 2-core machine at a load average of 6-10 from
other jobs (00:16-00:27 UTC): img/s rows are noisy, see the interleaved speed figures below.
"before" = the fifth wave's figures, seed 7 (lead's quiet run) / seed 11 (helper's harness).

How false matches are counted now. Every match is rated `confident` or `review`
(`detail["confidence"]`); a review match never excludes on its own (the scan, `identify` and
the API turn its exclude into review: `vocab.cap_on_thin_evidence`). Issue 14's "false
matches" are the confident ones: a query with a confident match to another work. Queries
whose wrong works are all review are counted apart, and the any-level count (the fifth
wave's definition) is given too. Recall is given at any level (the work is reported, to a
person at least: the fifth wave's definition) and confident.

- the rule (specificity): a match is confident only when its evidence is clearly above the
  query's evidence for the next-best registered work. PDQ: no other work, whose colours are
  not clearly different, within `PDQ_MARGIN` = 6 bits of it (searched up to 64 bits), unless
  a confident local match confirms the same work; local features: at least `LOCAL_MARGIN` =
  2.5 times the inliers of the best other work verified on the same query keypoints (RANSAC
  down to 6 inliers). Members of one family (icon themes, hazard signs in one frame, two
  versions of a painting) share parts, so an unregistered member, or a crop of what two
  members share, has real but unspecific evidence; a copy of a member is far closer to it
  than to its siblings. Nothing is fitted to a listed case.
- where the margins were chosen: the calibration split (`--split calibration --sweep
  --sweep-only PDQ_MARGIN,LOCAL_MARGIN`, sweep.py's rule, ties now going to the higher
  recall; run with the shipped code, 00:39-00:47 UTC): confident false-match queries
  17 / 11 / 5 / 3 / 3 / 3 / 3 at PDQ margins 0 / 2 / 4 / 6 / 8 / 10 / 12 bits (confident
  recall 97.98 .. 96.36 %); 11 / 5 / 5 / 5 / 4 / 3 / 3 at local margins
  0 / 1.25 / 1.5 / 1.75 / 2 / 2.5 / 3 (recall 98.34 .. 97.17 %). Chosen: 6 bits and 2.5x
  (there: 3 confident false matches, confident recall 97.17 %, any level 99.28 %). A first
  sweep, with a query decode not shipped (below), chose the same.
- report split, seed 7: confident false matches **10 of 2,376 (0.42 %; target < 1 %: met)**;
  16 more queries have only review wrong works; 26 at any level (fifth wave 26, every match
  counted: the rule only rates, it drops nothing). Unregistered images matched confidently
  9 of 150 (+ 6 review only; before 15).
- recall at any level (the work is reported) is the fifth wave's, row for row:
  crop-offcentre-80 96.2 %, renditions 98.1 %, low-detail 97.5 %, crop-random-10 97.4 %.
- recall, confident: what the rule costs. 27 true matches became review, 26 of them local
  matches of crops of registered families, showing what the family shares: the battlefield
  painting and its version without figures (11), math and `int` icons of one theme (9), a
  clock face among clocks with other hands (5), one portrait (1); and a bullet-hole drawing
  2 bits from its registered sibling (1). So crop-offcentre-80 is 88.5 % confident (the
  90 % target is met at any level only), crop-random-10 94.9 %, rrc-area-90 / 70 / 50
  92.3 / 88.5 / 80.8 %, portrait-crop 88.5 %; copies that keep the frame (resize, JPEG,
  brightness, rotations, renditions, low-detail) lost none.
- second draw (`--seed 11`, same split, 00:28-00:34 UTC): confident false matches **19 of
  2,376 (0.80 %; target < 1 %: met)**, 12 more review-only, 31 at any level (fifth wave, in
  the helper's harness: 31, every match counted). 6 of the 19 are copies of Yemen's flag
  matching Gabon's at 0-16 bits: Yemen's own rows do not match its copies, Gabon is the only
  work PDQ sees, and its stripes have Yemen's luma, so nothing the engine sees tells them
  apart (colours are compared only between several matched works). Recall at any level as
  the fifth wave's (crop-offcentre-80 92.3 %, renditions 97.1 %, low-detail 100 %);
  confident: crop-offcentre-80 89.7 %, crop-random-10 93.6 %, rrc-area-50 85.9 %,
  portrait-crop 87.2 %, renditions 97.1 %, low-detail 100 %.

Query speed. Decoding a query once, at the working size (a 4 Mpx JPEG at 1/4 scale), for
both PDQ and ORB was built and measured, interleaved against the fifth wave's engine on the
same 4 Mpx files (a throwaway script, both engines in one process; load 4.7-6.4): unregistered
photos 26.7 -> 34.6 img/s per core (1.30x), copies 103.0 -> 72.4 (0.70x): the 1/4 decode
cost 31 % more CPU than the 1/8 one on these paintings, and resampling 612 -> 512 px more.
It would trade the copies' met target (>= 100) for part of the missed one, so it is not
shipped: a query is still decoded at 1/8 for PDQ and again at 1/4 when it goes on to ORB.
ORB is not skipped either: no cheap stage bounds what local features find (a crop of a
registered artwork shows nothing to PDQ or the colour layout; that is what the local stage
is for), so skipping it when "PDQ found nothing" would lose the crops that local features
find (360 true matches above).

The shipped engine against the fifth wave's, interleaved the same way (load 4.3-6.7):
copies 113.7 -> 111.1 img/s per core (0.98x), unregistered 4 Mpx photos 25.7 -> 26.6
(1.04x): the rating costs no measurable speed. The table's 4 Mpx rows (80.8 copies, 18.4
unregistered) were taken at a load of 8-10 and are not comparable with the quiet 126.3 /
40.2; the lead's quiet rerun gives the figures to compare. Unregistered 4 Mpx photos stay
far from 100 img/s per core (missed).

Reading the numbers:

- "tdmguard" is the whole engine: PDQ (contrast-stretched, stability-gated), ORB local
  features with geometric verification, and the colour layout for low-detail images; the row
  "which descriptor found the true work" splits the true matches by method (PDQ first).
- Low-detail originals are made from images of the same split registered nowhere else:
  pastel linear and radial gradients, plain covers (pastel or dark) with a small openclipart
  logo, and Wesnoth portraits turned into night (x0.18, gamma 2.2), fog (20 % image + 80 %
  haze) and low-contrast (10 %) versions; each is queried resized + JPEG, brightened and
  darkened 15 %, and stretched.
- Crops at random positions: crop-random-10 keeps 90 % of each side with the cut split
  unevenly, crop-offcentre-80 keeps 80 %, rrc-area-N is torchvision-style random-resized-crop
  keeping N % of the area (aspect 3/4..4/3), portrait-crop is a full-height 4:5 crop of a
  landscape image (about 45-60 % of the area). Renditions are centre crops to 1:1, 16:9 and
  4:5 and a 0.75 horizontal stretch.
- False matches: a query with a confident match to another work (review ones apart, see
  above). Look-alike families are in
  the data on purpose (openclipart's stars, cards, flags, jigsaw pieces, icon themes;
  Wesnoth's repainted portraits and reused story paintings; the skimage stereo pair), and 150
  unregistered images of the same split are queried. A montage of the pairs is written to
  the cache.
- Throughput is per CPU-second of one process (faiss and OpenCV on one thread), decoding
  included, through `match_file` (what `identify` runs). The 4 Mpx rows use real images
  (Wesnoth paintings, skimage photos) scaled to 2448 x 1632 with a little grain, JPEG q90
  (median 0.59 MB): copies of registered images, and unregistered Wesnoth portraits.
- Run time: 7-13 minutes for `--quick` on the shared machine at a load of 6-10 (data
  cached); `--split calibration --sweep` about 30 minutes (16 sweep passes).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images (about a minute)")
    parser.add_argument("--seed", type=int, default=None, help="7 (report), 1 (calibration)")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="report",
        help="images to run on: thresholds are chosen on 'calibration' only (split_of)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="(calibration split only) sweep the decision thresholds, see sweep.py",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--sweep-only",
        default="",
        help="comma-separated thresholds to sweep (default: all of sweep.GRID)",
    )
    parser.add_argument(
        "--no-speed", action="store_true", help="skip the throughput passes (quality only)"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite RESULTS.md from --out, no run"
    )
    args = parser.parse_args()
    if args.sweep and args.split != "calibration":
        parser.error("--sweep chooses thresholds: only on --split calibration")
    if args.seed is None:
        args.seed = 1 if args.split == "calibration" else 7
    if args.out is None:
        name = "results.json"
        if args.split == "calibration":
            name = "results-calibration.json"
        elif args.seed != 7:
            name = f"results-seed{args.seed}.json"
        args.out = HERE / name
    if args.render_only:
        result = json.loads(args.out.read_text(encoding="utf-8"))
        args.quick = result["mode"] == "quick"
    else:
        only = tuple(n for n in args.sweep_only.split(",") if n)
        result = run(args.quick, args.seed, args.split, args.sweep, not args.no_speed, only)
    table = render(result)
    print(table)
    if not args.render_only:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if args.out.name != "results.json":
        return  # RESULTS.md shows the reported run (report split, seed 7)
    table += other_runs()
    command = "python -m benchmarks.image" + (" --quick" if args.quick else "")
    (HERE / "RESULTS.md").write_text(
        f"## Image matching\n\nReproduce: `{command}` (fetches its data into "
        f"`${{TDMGUARD_CACHE:-~/.cache/tdmguard}}/image`, installs imagehash and "
        f"scikit-image); the report split (7-13 minutes here). Second draw: `{command} "
        f"--seed 11`. Where the thresholds are chosen: `{command} --split calibration "
        f"--sweep` (about an hour here; the specificity margins alone, `--sweep-only "
        f"PDQ_MARGIN,LOCAL_MARGIN`, about 20 minutes). Quality only, no speed passes: add "
        f"`--no-speed`.\n\n{table}\n{NOTES}",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
