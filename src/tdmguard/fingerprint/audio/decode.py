"""Decode any audio file to mono float32 at the engine's sample rate, in bounded memory.

soundfile (libsndfile 1.2: WAV, FLAC, OGG Vorbis, Opus, MP3, AIFF, ...) is tried first; PyAV
(FFmpeg: AAC/M4A, WMA, video containers, ...) second, when installed (``tdmguard[audio-av]``).
Both are read block by block and resampled with a streaming soxr resampler, so memory stays
proportional to ``max_duration_s`` at the *output* rate (8 kHz float32: 115 MB for 1 h),
never to the input's size or rate. Longer files are cut at ``max_duration_s`` and the
fingerprint says so in ``meta["truncated"]``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.errors import MediaError, MissingExtraError

__all__ = [
    "MAX_CHANNELS",
    "MAX_SOURCE_RATE_HZ",
    "MIN_SOURCE_RATE_HZ",
    "DecodedAudio",
    "check_stream",
    "decode_mono",
]

F32 = npt.NDArray[np.float32]
# input samples per read (all channels): 0.5 MB of float32, whatever the file's channel count
_BLOCK_SAMPLES = 1 << 17
# Stream parameters read from a header are checked before anything is decoded: a 96 KB WAV
# declaring a 1 Hz rate made the resampler upsample 8,000-fold (29 s and 5.2 GB). Real audio
# lies between telephone-band 2 kHz recordings and 768 kHz studio masters.
MIN_SOURCE_RATE_HZ = 2_000
MAX_SOURCE_RATE_HZ = 768_000
MAX_CHANNELS = 256


@dataclass(frozen=True, slots=True, eq=False)
class DecodedAudio:
    """``samples``: shape (n,), float32 mono at ``rate_hz``; ``source_rate_hz``: the file's rate;
    ``truncated``: the file was longer than the cap and only its start was decoded."""

    samples: F32
    rate_hz: int
    source_rate_hz: int
    truncated: bool
    decoder: str


def check_stream(rate_hz: int, channels: int, *, where: str) -> None:
    """Refuse absurd stream parameters before decoding (``MediaError`` naming them)."""
    if not MIN_SOURCE_RATE_HZ <= rate_hz <= MAX_SOURCE_RATE_HZ:
        raise MediaError(
            f"sample rate {rate_hz:,} Hz is outside {MIN_SOURCE_RATE_HZ:,}-"
            f"{MAX_SOURCE_RATE_HZ:,} Hz; refused before decoding",
            where=where,
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise MediaError(
            f"{channels:,} channels (at most {MAX_CHANNELS}); refused before decoding",
            where=where,
        )


def _soundfile_blocks(path: Path) -> tuple[int, Generator[F32, None, None]]:
    import soundfile as sf

    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise _UnsupportedError(str(exc)) from exc
    rate = int(handle.samplerate)
    try:
        check_stream(rate, int(handle.channels), where=str(path))
    except MediaError:
        handle.close()
        raise

    frames_per_block = max(64, _BLOCK_SAMPLES // int(handle.channels))

    def blocks() -> Generator[F32, None, None]:
        # one read buffer for the whole file: a fresh 0.5 MB array per block is a fresh mmap
        # (page faults on every block); each yielded mono block is a new array
        buffer = np.empty((frames_per_block, int(handle.channels)), np.float32)
        with handle:
            while True:
                try:
                    data = handle.read(
                        frames_per_block, dtype="float32", always_2d=True, out=buffer
                    )
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise MediaError(f"decoding failed ({exc})", where=str(path)) from exc
                if data.shape[0] == 0:
                    return
                yield _mix_to_mono(data)

    return rate, blocks()


def _pyav_blocks(path: Path) -> tuple[int, Generator[F32, None, None]]:
    try:
        import av
    except ModuleNotFoundError as exc:
        raise MissingExtraError("av", "audio-av") from exc
    try:
        container: Any = av.open(str(path))
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            container.close()
            raise MediaError("no audio stream in the file", where=str(path))
        stream = streams[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
    except av.FFmpegError as exc:
        raise MediaError(f"not a readable media file ({exc})", where=str(path)) from exc
    channels = int(getattr(stream.codec_context, "channels", 1) or 1)
    try:
        check_stream(rate, channels, where=str(path))
    except MediaError:
        container.close()
        raise
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)

    def blocks() -> Generator[F32, None, None]:
        try:
            with container:
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        yield np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1)
        except av.FFmpegError as exc:
            raise MediaError(f"decoding failed ({exc})", where=str(path)) from exc

    return rate, blocks()


def _mix_to_mono(data: npt.NDArray[np.float32]) -> F32:
    """Mean over channels of a (frames, channels) block, shape (frames,).

    One vector add per channel: ``data.mean(axis=1)`` reduces along the short, strided axis
    and took a quarter of the whole fingerprinting time on stereo Vorbis.
    """
    channels = data.shape[1]
    if channels == 1:
        return data[:, 0].copy()  # a copy: ``data`` may be a reused read buffer
    acc = data[:, 0] + data[:, 1]
    for ch in range(2, channels):
        acc += data[:, ch]
    acc /= np.float32(channels)
    return acc


def _require_regular_file(path: Path) -> None:
    """A regular, non-empty file, checked with ``stat`` before any open: opening a FIFO
    blocks until a writer comes (forever), a device can stream without end."""
    import stat

    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise MediaError("no such file", where=str(path)) from exc
    except OSError as exc:
        raise MediaError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise MediaError("not a regular file (a FIFO, device or folder)", where=str(path))
    if info.st_size == 0:
        raise MediaError("empty file", where=str(path))


class _UnsupportedError(Exception):
    """soundfile cannot open the format (try the next decoder)."""


def decode_mono(path: Path, *, rate_hz: int, max_duration_s: float) -> DecodedAudio:
    """Decode ``path`` to mono float32 at ``rate_hz`` (at most ``max_duration_s`` seconds).

    Raises :class:`MediaError` for a missing, unreadable, corrupt or unsupported file, and
    :class:`MissingExtraError` when only PyAV could read it and PyAV is absent.
    """
    import soxr

    _require_regular_file(path)
    decoder = "soundfile"
    try:
        source_rate, blocks = _soundfile_blocks(path)
    except _UnsupportedError as first:
        decoder = "pyav"
        try:
            source_rate, blocks = _pyav_blocks(path)
        except MissingExtraError as exc:
            raise MediaError(
                f"soundfile cannot read it ({first}); other formats need PyAV: "
                "pip install 'tdmguard[audio-av]'",
                where=str(path),
            ) from exc
    cap = int(max_duration_s * rate_hz)
    stream = soxr.ResampleStream(source_rate, rate_hz, 1, dtype="float32", quality="LQ")
    parts: list[F32] = []
    have = 0
    truncated = False
    for block in blocks:
        if not np.all(np.isfinite(block)):
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        out = np.asarray(stream.resample_chunk(block), dtype=np.float32).reshape(-1)
        parts.append(out)
        have += out.shape[0]
        if have >= cap:
            truncated = True
            blocks.close()  # closes the file now, not when the generator is collected
            break
    if not truncated:
        parts.append(
            np.asarray(
                stream.resample_chunk(np.zeros(0, np.float32), last=True), dtype=np.float32
            ).reshape(-1)
        )
    samples = np.concatenate(parts)[:cap] if parts else np.zeros(0, np.float32)
    return DecodedAudio(samples, rate_hz, source_rate, truncated, decoder)
