"""Write the melody sample data of ``tdmguard demo`` (src/tdmguard/demo/data/melody/).

All from the music21 corpus (public-domain compositions; see NOTICE.melody.md):

- ``bach-bwv66.6.mxl``: J. S. Bach, chorale "Christ unser Herr zum Jordan kam"... BWV 66.6,
  the music21 corpus file copied unchanged (registered, MusicXML, four voices);
- ``foster-jeanie.mid``: S. C. Foster, "Jeanie with the Light Brown Hair" (1854), melody of
  the music21 lead sheet written as MIDI (registered);
- ``essen-<id>.musicxml``: an Essen folk song written as MusicXML (registered);
- ``query-jeanie-excerpt.mid``: 20 notes of the Foster melody, transposed up a fourth, note
  values halved and written at another tempo, one note changed (should match Foster);
- ``unregistered-essen-<id>.mid``: another Essen folk song (should match nothing).

    python -m benchmarks.melody.make_demo_data
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from music21 import converter, corpus

from tdmguard.fingerprint.melody.notes import NoteLine, lines_from_music21, write_midi

OUT = Path(__file__).resolve().parents[2] / "src" / "tdmguard" / "demo" / "data" / "melody"
ESSEN_REGISTERED = ("essenFolksong/altdeu10.abc", 3)
ESSEN_UNREGISTERED = ("essenFolksong/boehme10.abc", 12)


def _essen(name: str, number: int):  # type: ignore[no-untyped-def]
    opus = converter.parse(str(corpus.getWork(name.split("/")[1])), forceSource=True)
    return opus.scores[number - 1]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(corpus.getWork("bach/bwv66.6"), OUT / "bach-bwv66.6.mxl")

    foster = converter.parse(str(corpus.getWork("leadSheet/fosterBrownHair")), forceSource=True)
    melody = lines_from_music21(foster)[0]
    melody = NoteLine("Jeanie with the Light Brown Hair", melody.onsets_q, melody.pitches,
                      melody.durations_q)
    write_midi(OUT / "foster-jeanie.mid", [melody], bpm=92)

    reg = _essen(*ESSEN_REGISTERED)
    reg.write("musicxml", fp=str(OUT / "essen-altdeu10-3.musicxml"))
    unreg = lines_from_music21(_essen(*ESSEN_UNREGISTERED))
    write_midi(OUT / "unregistered-essen-boehme10-12.mid", unreg, bpm=100)

    # The query: notes 8..27 of the Foster melody, +5 semitones, note values halved (so
    # the same music at double speed), written at 140 bpm, note 10 lowered a whole tone.
    sl = slice(8, 28)
    pitches = melody.pitches[sl].astype(np.int64) + 5
    pitches[10] -= 2
    onsets = (melody.onsets_q[sl] - melody.onsets_q[sl][0]) * 0.5
    query = NoteLine("excerpt", onsets, pitches.astype(np.int16), melody.durations_q[sl] * 0.5)
    write_midi(OUT / "query-jeanie-excerpt.mid", [query], bpm=140)
    for f in sorted(OUT.iterdir()):
        print(f"{f.stat().st_size:>7} {f.name}")


if __name__ == "__main__":
    main()
