"""Fixtures for scans on real data: a registry whose holder reserved two registered lyrics
(real lyrics engine, real index), datasets written by the real libraries, and an S3-compatible
server (moto, 127.0.0.1, free port). The browser fixture is in tests/conftest.py."""

from __future__ import annotations

import hashlib
import io
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tdmguard.demo import demo_data_dir
from tdmguard.fingerprint.engines import get_engine
from tdmguard.registry.matching import append_to_index
from tdmguard.registry.store import NewWork, Registry
from tdmguard.scan.decide import DecisionSettings
from tdmguard.scan.job import ScanJob, registry_view
from tdmguard.vocab import DecisionKind, Modality, Purpose, Use, WorkKind

LYRICS = demo_data_dir() / "lyrics"
JEANIE = (LYRICS / "jeanie_with_the_light_brown_hair.txt").read_text("utf-8")
LINDENBAUM = (LYRICS / "der_lindenbaum.txt").read_text("utf-8")
ESSAY = (LYRICS / "training" / "essay_without_lyrics.txt").read_text("utf-8")


def wav_bytes(seconds: float = 0.2, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        tone = np.sin(np.arange(int(seconds * rate)) * 0.2) * 8000
        w.writeframes(tone.astype(np.int16).tobytes())
    return buf.getvalue()


@dataclass
class LyricsWorld:
    db: Path
    index: Path
    registry: Registry

    def job(self, source: Path | str, out: Path, **kw: object) -> ScanJob:
        decision = DecisionSettings(
            use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor="SomeAI", at=date(2026, 1, 1),
            unknown=DecisionKind.KEEP)
        return ScanJob(source=source, out_dir=out, index_dir=self.index, decision=decision,
                       view=registry_view(self.registry), checks=("lyrics-match",),
                       **kw)  # type: ignore[arg-type]


@pytest.fixture
def lyrics_world(tmp_path: Path) -> Iterator[LyricsWorld]:
    db = tmp_path / "registry.db"
    index = tmp_path / "index"
    reg = Registry.open(f"sqlite:///{db}")
    reg.add_holder("Aurora")
    engine = get_engine(Modality.LYRICS)
    for ext_id, name in (("AUR-JEANIE", "jeanie_with_the_light_brown_hair.txt"),
                         ("AUR-LINDEN", "der_lindenbaum.txt")):
        path = LYRICS / name
        fp = engine.extract(path)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        info = reg.import_works("Aurora", [(NewWork(title=name, kind=WorkKind.LYRICS,
                                                    external_id=ext_id), [(fp, sha)])])[0]
        append_to_index(index, engine, [(info.id, fp)])
    reg.reserve("Aurora", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                purposes=[Purpose.COMMERCIAL])
    yield LyricsWorld(db, index, reg)
    reg.close()


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (free port); fsspec is pointed at it."""
    pytest.importorskip("s3fs")
    import fsspec
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    saved = dict(fsspec.config.conf.get("s3", {}))
    fsspec.config.conf["s3"] = {"endpoint_url": url, "key": "testing", "secret": "testing",
                                "client_kwargs": {"region_name": "us-east-1"}}
    try:
        yield url
    finally:
        fsspec.config.conf["s3"] = saved
        server.stop()
