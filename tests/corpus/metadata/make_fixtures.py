"""Re-creates the small real media fixtures of this folder (see NOTICE.md for sources).

Needs the cached Debian package ``singularity-music`` and the scikit-image wheel's data
folder (``TDMGUARD_CACHE``, default ``~/.cache/tdmguard``), soundfile, mutagen, Pillow and,
for the M4A file only, ffmpeg. Run: ``python tests/corpus/metadata/make_fixtures.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import mutagen
import soundfile as sf
from PIL import Image

HERE = Path(__file__).parent
CACHE = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard"))
TRACK = CACHE / "deb/x/singularity-music/usr/share/games/singularity/music/Awakening.ogg"
SKIMAGE = CACHE / "pip/skimage/skimage/data"


def main() -> None:
    audio, rate = sf.read(TRACK, start=48000 * 30, frames=48000 * 3, dtype="float32")
    source_tags = dict(mutagen.File(TRACK).tags or {})
    ogg = HERE / "awakening-excerpt.ogg"
    sf.write(ogg, audio, rate, format="OGG", subtype="VORBIS", compression_level=0.9)
    tagged = mutagen.File(ogg)
    for key, value in source_tags.items():  # the real track's Vorbis comments, unchanged
        tagged[key] = value
    tagged.save()
    mono = audio[: rate // 2].mean(axis=1)
    sf.write(HERE / "awakening-excerpt.wav", mono[::2], rate // 2, subtype="PCM_16")
    sf.write(HERE / "awakening-excerpt.flac", mono[::2], rate // 2, subtype="PCM_16")
    sf.write(HERE / "awakening-excerpt.aiff", mono[::4], rate // 4, subtype="PCM_16")
    sf.write(HERE / "awakening-excerpt.opus", mono, rate, format="OGG", subtype="OPUS")
    sf.write(HERE / "awakening-excerpt.mp3", audio[: rate * 2], rate, format="MP3",
             compression_level=0.99)  # fmt: skip
    if shutil.which("ffmpeg"):
        subprocess.run(
            ["ffmpeg", "-y", "-loglevel", "error", "-i", str(HERE / "awakening-excerpt.wav"),
             "-c:a", "aac", "-b:a", "32k", str(HERE / "awakening-excerpt.m4a")],
            check=True,
        )  # fmt: skip
    with Image.open(SKIMAGE / "chelsea.png") as im:
        im.resize((150, 100)).save(HERE / "chelsea-small.png", optimize=True)
    with Image.open(SKIMAGE / "coffee.png") as im:
        im.convert("RGB").resize((160, 107)).save(HERE / "coffee-small.jpg", quality=85)


if __name__ == "__main__":
    main()
