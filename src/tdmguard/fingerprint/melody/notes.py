"""Reading symbolic scores into monophonic note lines.

A *line* is one melodic voice: a MIDI (track, channel) pair, or a part of a MusicXML / ABC /
kern score, reduced to one note per onset by a skyline (the highest pitch of every chord or of
notes that start together; Uitdenbogerd & Zobel 1998, "all-mono"). Drums (General MIDI
channel 10) and unpitched parts are left out.

Times are in quarter notes (MIDI ticks / ticks per beat), never seconds: tempo maps do not
change them, so absurd or hostile tempo events cannot matter, and tempo changes of a copy are
absorbed later by duration ratios.

Bounds (hostile input): regular files only (a FIFO would block), file size caps per format,
note (and kern measure) counts checked *before* music21 parses a score, a cap on notes per
file and on lines, and refusal of XML entity declarations (billion-laughs); a breach raises
:class:`MediaError`.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.errors import MediaError, MissingExtraError

__all__ = [
    "MAX_KERN_MEASURES",
    "MAX_LINES",
    "MAX_MUSIC21_NOTES",
    "MAX_NOTES",
    "MIDI_SUFFIXES",
    "MUSIC21_SUFFIXES",
    "NoteLine",
    "lines_from_music21",
    "read_note_lines",
    "skyline",
    "write_midi",
]

F64 = npt.NDArray[np.float64]
I16 = npt.NDArray[np.int16]

MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf", ".kar"})
MUSIC21_SUFFIXES = frozenset({".xml", ".musicxml", ".mxl", ".abc", ".krn"})
# Size caps (bytes). mido keeps every message as a Python object (~200 B each) and music21
# builds a deep object tree, so these bound memory to a few hundred MB at worst.
MAX_MIDI_BYTES = 4 * 1024 * 1024
MAX_XML_BYTES = 12 * 1024 * 1024  # uncompressed MusicXML (also the .mxl unpacked total)
MAX_TEXT_SCORE_BYTES = 1024 * 1024  # ABC, kern
MAX_NOTES = 200_000  # notes in one file, all lines together
# music21 parses far slower than mido and worse than linearly (kern, measured here under
# load: 2,000 notes 13 s, 8,000 notes 87 s; a 4 MiB kern file ran > 420 s and 6.3 GB), so
# scores it reads are counted before parsing: notes (pitch tokens, <note> elements) and
# kern measures; over either limit the file is refused with the count.
MAX_MUSIC21_NOTES = 5_000
MAX_KERN_MEASURES = 1_500
MAX_LINES = 256
MAX_ONSET_Q = 1e9  # quarter notes; anything later is corrupt data
DRUM_CHANNEL = 9  # General MIDI channel 10, zero-based


@dataclass(frozen=True, slots=True, eq=False)
class NoteLine:
    """One monophonic melody line.

    ``onsets_q``: shape (n,), float64, strictly increasing onsets in quarter notes;
    ``pitches``: shape (n,), int16 MIDI note numbers; ``durations_q``: shape (n,), float64,
    sounding durations in quarter notes. ``name`` says where the line came from
    (``track 2 channel 1``, ``part Soprano``).
    """

    name: str
    onsets_q: F64
    pitches: I16
    durations_q: F64

    def __len__(self) -> int:
        return int(self.onsets_q.shape[0])


def skyline(onsets_q: F64, pitches: I16, durations_q: F64, *, name: str) -> NoteLine:
    """Reduce possibly polyphonic notes to one per onset, keeping the highest pitch.

    Inputs have shape (n,) each, in any order. Onsets closer than 1/1000 quarter note count
    as simultaneous (MIDI ticks and music21 fractions both land exactly on that grid).
    """
    # Hostile files can carry absurd times (inf, NaN, 2**60 ticks): drop those notes.
    sane = (np.isfinite(onsets_q) & np.isfinite(durations_q) & (np.abs(onsets_q) < MAX_ONSET_Q)
            & (pitches >= 0) & (pitches <= 127))
    if not sane.all():
        onsets_q, pitches, durations_q = onsets_q[sane], pitches[sane], durations_q[sane]
    durations_q = np.clip(durations_q, 0.0, MAX_ONSET_Q)
    if onsets_q.shape[0] == 0:
        return NoteLine(name, onsets_q.astype(np.float64), pitches.astype(np.int16),
                        durations_q.astype(np.float64))
    grid = np.round(onsets_q * 1000.0).astype(np.int64)
    order = np.lexsort((-pitches.astype(np.int64), grid))
    grid_sorted = grid[order]
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = grid_sorted[1:] != grid_sorted[:-1]
    keep = order[first]
    return NoteLine(
        name,
        np.ascontiguousarray(onsets_q[keep], dtype=np.float64),
        np.ascontiguousarray(pitches[keep], dtype=np.int16),
        np.ascontiguousarray(durations_q[keep], dtype=np.float64),
    )


def read_note_lines(path: Path) -> list[NoteLine]:
    """Read every melody line of a MIDI, MusicXML (.xml/.musicxml/.mxl), ABC or kern file.

    Raises :class:`MediaError` naming the file when it is unreadable, too large or of an
    unknown kind. A readable file without notes gives an empty list.
    """
    import stat

    where = str(path)
    suffix = path.suffix.lower()
    try:
        info = path.stat()
    except OSError as exc:
        raise MediaError(f"cannot read file ({exc.strerror or exc})", where=where) from exc
    if not stat.S_ISREG(info.st_mode):
        # a FIFO would block the parsers' open() forever
        raise MediaError("not a regular file (a FIFO, device or folder)", where=where)
    size = info.st_size
    if suffix in MIDI_SUFFIXES:
        _check_size(size, MAX_MIDI_BYTES, where)
        return _read_midi(path)
    if suffix in MUSIC21_SUFFIXES:
        if suffix == ".mxl":
            _check_mxl(path)
        elif suffix in {".xml", ".musicxml"}:
            _check_size(size, MAX_XML_BYTES, where)
            _check_no_entities(path)
        else:
            _check_size(size, MAX_TEXT_SCORE_BYTES, where)
            _check_text_score(path, suffix)
        return _read_music21(path)
    raise MediaError(
        f"not a symbolic score (expected one of {sorted(MIDI_SUFFIXES | MUSIC21_SUFFIXES)})",
        where=where,
    )


def _check_size(size: int, cap: int, where: str) -> None:
    if size > cap:
        raise MediaError(f"file too large ({size} bytes; the limit is {cap})", where=where)


def _read_regular(path: Path, cap: int) -> bytes:
    """At most ``cap`` bytes of a regular file, opened without blocking: a FIFO or device
    passed as a score would block ``open`` or stream forever."""
    import os
    import stat

    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise MediaError(f"cannot read file ({exc.strerror or exc})", where=where) from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MediaError("not a regular file (a FIFO, device or folder)", where=where)
        return fh.read(cap)


def _check_text_score(path: Path, suffix: str) -> None:
    """Count an ABC or kern score's notes (and kern measures) before music21 parses it."""
    import re

    text = _read_regular(path, MAX_TEXT_SCORE_BYTES).decode("latin-1")
    if suffix == ".krn":
        notes = measures = 0
        for line in text.splitlines():
            if line.startswith("="):
                measures += 1
            elif line and not line.startswith(("!", "*")):
                # data record: each token may be a chord of space-separated notes
                notes += len(re.findall(r"(?:^|[\t ])[\d.]*\(?\[?[a-gA-G]", line))
    else:  # ABC: note letters outside header fields, lyrics, comments and quoted text
        measures = 0
        body = (ln for ln in text.splitlines() if not re.match(r"^\s*(?:[A-Za-z]:|%)", ln))
        notes = sum(len(re.findall(r"[A-Ga-g]", re.sub(r'"[^"]*"|![^!]*!', "", ln)))
                    for ln in body)
    if notes > MAX_MUSIC21_NOTES:
        raise MediaError(
            f"score has about {notes:,} notes; at most {MAX_MUSIC21_NOTES:,} are read from"
            " ABC and kern files (convert it to MIDI)",
            where=str(path),
        )
    if measures > MAX_KERN_MEASURES:
        raise MediaError(
            f"score has {measures:,} measures; at most {MAX_KERN_MEASURES:,} are read from"
            " kern files (convert it to MIDI)",
            where=str(path),
        )


def _check_no_entities(path: Path) -> None:
    # MusicXML never needs internal entity declarations; refusing them stops entity-expansion
    # bombs before any XML parser sees the file.
    head = _read_regular(path, MAX_XML_BYTES)
    if b"<!ENTITY" in head:
        raise MediaError("XML entity declarations are not allowed in MusicXML", where=str(path))
    notes = head.count(b"<note")
    if notes > MAX_MUSIC21_NOTES:
        raise MediaError(
            f"MusicXML score has {notes:,} notes; at most {MAX_MUSIC21_NOTES:,} are read"
            " (convert it to MIDI)",
            where=str(path),
        )


def _check_mxl(path: Path) -> None:
    """A compressed MusicXML file is a zip: bound its unpacked size before music21 opens it."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
            if total > MAX_XML_BYTES:
                raise MediaError(
                    f"compressed MusicXML unpacks to {total} bytes; the limit is {MAX_XML_BYTES}",
                    where=str(path),
                )
            for info in zf.infolist():
                is_xml = info.filename.lower().endswith((".xml", ".musicxml"))
                if is_xml and b"<!ENTITY" in zf.read(info):
                    raise MediaError(
                        "XML entity declarations are not allowed in MusicXML",
                        where=f"{path}:{info.filename}",
                    )
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
            NotImplementedError) as exc:
        # zlib.error: corrupt deflate data; RuntimeError: encrypted member;
        # NotImplementedError: a compression method zipfile lacks
        raise MediaError(f"not a readable .mxl archive ({exc})", where=str(path)) from exc


# -- MIDI (mido: the fast path) ------------------------------------------------------------


def _read_midi(path: Path) -> list[NoteLine]:
    try:
        import mido
    except ModuleNotFoundError as exc:
        raise MissingExtraError("mido", "melody") from exc
    where = str(path)
    try:
        # clip=True clamps out-of-range data bytes instead of raising on sloppy files.
        midi = mido.MidiFile(str(path), clip=True)
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        why = str(exc) or f"{type(exc).__name__}: truncated or malformed"
        raise MediaError(f"unreadable MIDI file ({why})", where=where) from exc
    tpb = int(midi.ticks_per_beat or 0)
    if tpb <= 0:
        raise MediaError(f"MIDI header has no usable ticks per beat ({tpb})", where=where)
    notes: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    total = 0
    for track_no, track in enumerate(midi.tracks):
        tick = 0
        sounding: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += int(msg.time)
            kind = msg.type
            if kind not in ("note_on", "note_off"):
                continue
            channel = int(msg.channel)
            if channel == DRUM_CHANNEL:
                continue
            key = (channel, int(msg.note))
            if kind == "note_on" and int(msg.velocity) > 0:
                sounding.setdefault(key, []).append(tick)
                continue
            starts = sounding.get(key)
            if starts:
                start = starts.pop(0)
                line = notes.setdefault((track_no, channel), [])
                line.append((start, int(msg.note), tick - start))
                total += 1
                if total > MAX_NOTES:
                    raise MediaError(f"more than {MAX_NOTES} notes", where=where)
        for (channel, pitch), starts in sounding.items():  # never released: end at track end
            for start in starts:
                notes.setdefault((track_no, channel), []).append((start, pitch, tick - start))
    if len(notes) > MAX_LINES:
        raise MediaError(f"more than {MAX_LINES} (track, channel) lines", where=where)
    lines: list[NoteLine] = []
    for (track_no, channel), items in sorted(notes.items()):
        arr = np.asarray(items, dtype=np.float64).reshape(-1, 3)
        lines.append(
            skyline(
                arr[:, 0] / tpb,
                arr[:, 1].astype(np.int16),
                arr[:, 2] / tpb,
                name=f"track {track_no} channel {channel + 1}",
            )
        )
    return [line for line in lines if len(line)]


# -- MusicXML, ABC, kern (music21) --------------------------------------------------------


def _read_music21(path: Path) -> list[NoteLine]:
    try:
        from music21 import converter
    except ModuleNotFoundError as exc:
        raise MissingExtraError("music21", "melody") from exc
    try:
        # forceSource: never read or write music21's pickle cache for user files.
        parsed = converter.parse(str(path), forceSource=True)
        return lines_from_music21(parsed, where=str(path))
    except MediaError:
        raise
    except Exception as exc:
        # music21's parsers raise many unrelated classes (Music21Exception, ParseError,
        # IndexError, AttributeError ...) on malformed files; wrap them all at this boundary.
        raise MediaError(
            f"unreadable score ({type(exc).__name__}: {exc})"[:300], where=str(path)
        ) from exc


def lines_from_music21(stream: Any, *, where: str = "score") -> list[NoteLine]:
    """Melody lines of a parsed music21 Score, Opus or Part (one line per part, skylined)."""
    lines: list[NoteLine] = []
    total = 0
    for label, part in _parts(stream):
        onsets, pitches, durations = _part_notes(part)
        total += len(onsets)
        if total > MAX_NOTES:
            raise MediaError(f"more than {MAX_NOTES} notes", where=where)
        if not onsets:
            continue
        lines.append(
            skyline(
                np.asarray(onsets, dtype=np.float64),
                np.asarray(pitches, dtype=np.int16),
                np.asarray(durations, dtype=np.float64),
                name=label,
            )
        )
        if len(lines) > MAX_LINES:
            raise MediaError(f"more than {MAX_LINES} parts", where=where)
    return lines


def _parts(stream: Any) -> Iterator[tuple[str, Any]]:
    from music21 import stream as m21stream

    scores: Iterable[Any]
    scores = stream.scores if isinstance(stream, m21stream.Opus) else [stream]
    for score_no, score in enumerate(scores):
        parts = list(score.parts) if isinstance(score, m21stream.Score) else []
        if not parts:
            parts = [score]
        for part_no, part in enumerate(parts):
            label = str(getattr(part, "partName", None) or f"part {part_no + 1}")
            yield (f"score {score_no + 1} {label}" if score_no else label), part


def _part_notes(part: Any) -> tuple[list[float], list[int], list[float]]:
    """Onsets, top pitches and durations (quarter notes) of a part; tied notes merged."""
    onsets: list[float] = []
    pitches: list[int] = []
    durations: list[float] = []
    for element in part.flatten().notes:
        length = float(element.quarterLength)
        if length <= 0:  # grace notes carry no rhythm of their own
            continue
        element_pitches = getattr(element, "pitches", ())
        if not element_pitches:  # unpitched (percussion) notes and chords
            continue
        tie = getattr(element, "tie", None)
        if tie is not None and tie.type in ("stop", "continue") and durations:
            durations[-1] += length
            continue
        onsets.append(float(element.offset))
        pitches.append(max(int(p.midi) for p in element_pitches))
        durations.append(length)
    return onsets, pitches, durations


def write_midi(path: Path, lines: Iterable[NoteLine], *, bpm: float = 120.0,
               ticks_per_beat: int = 480) -> None:
    """Write note lines as a type-1 standard MIDI file, one track and channel per line
    (for sample data and tests: queries in another tempo are written with another ``bpm``)."""
    try:
        import mido
    except ModuleNotFoundError as exc:
        raise MissingExtraError("mido", "melody") from exc
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    midi.tracks.append(meta)
    for number, line in enumerate(lines):
        channel = number if number < DRUM_CHANNEL else number + 1
        events: list[tuple[int, int, int]] = []  # (tick, order: offs first, pitch)
        for onset, pitch, duration in zip(line.onsets_q, line.pitches, line.durations_q,
                                          strict=True):
            start = round(float(onset) * ticks_per_beat)
            end = max(start + 1, round(float(onset + duration) * ticks_per_beat))
            events.append((start, 1, int(pitch)))
            events.append((end, 0, int(pitch)))
        events.sort()
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=line.name, time=0))
        now = 0
        for tick, is_on, pitch in events:
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=80 if is_on else 0,
                                      channel=channel % 16, time=tick - now))
            now = tick
        midi.tracks.append(track)
    midi.save(str(path))
