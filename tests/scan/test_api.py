"""``tdmguard.Scanner``: a predicate for ``datasets`` (per row and batched), a Ray Data
filter on an actor pool, and whole scans; the same decisions as the CLI's scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tdmguard
from tdmguard.errors import IndexStoreError
from tests.scan.conftest import ESSAY, JEANIE, LINDENBAUM, LyricsWorld, wav_bytes
from tests.scan.test_runner import ROOT

TEXTS = [JEANIE, "a caption", ESSAY, LINDENBAUM, "another caption", JEANIE]
KEEP = [False, True, True, False, True, False]


def _scanner(world: LyricsWorld, **kw: object) -> tdmguard.Scanner:
    return tdmguard.Scanner(actor="SomeAI", db=f"sqlite:///{world.db}", index=world.index,
                            checks=["lyrics-match"], **kw)  # type: ignore[arg-type]


def test_import_tdmguard_stays_light() -> None:
    code = ("import sys, tdmguard; heavy = [m for m in ('tdmguard.scan', 'pyarrow', 'datasets',"
            " 'numpy', 'sqlalchemy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.strip()
    assert out == "[]"


def test_datasets_filter_per_row_and_batched(lyrics_world: LyricsWorld) -> None:
    import datasets

    scanner = _scanner(lyrics_world)
    ds = datasets.Dataset.from_dict({
        "id": [f"i{n}" for n in range(6)], "text": TEXTS,
        "audio": [{"bytes": wav_bytes(), "path": None}] * 6,
    }).cast_column("audio", datasets.Audio(decode=False))
    per_row = ds.filter(scanner.keep)
    batched = ds.filter(scanner, batched=True, batch_size=4)
    expected = [f"i{n}" for n in range(6) if KEEP[n]]
    assert per_row["id"] == batched["id"] == expected
    decision = scanner.decide({"id": "x", "text": JEANIE})
    assert decision["decision"] == "exclude"
    assert decision["reasons"][0]["code"] == "reserved-holder-wide"
    assert decision["matches"][0]["work_id"]
    broken = scanner.decide({"id": "y", "audio": {"bytes": b"\x1f\x8b gz", "path": None}})
    assert broken["decision"] == "error" and "gzip archive" in broken["error"]


@pytest.mark.slow  # starts Ray (a minute on a loaded machine), like the executor Ray test
def test_ray_data_filter_on_an_actor_pool(lyrics_world: LyricsWorld) -> None:
    ray = pytest.importorskip("ray")
    scanner = _scanner(lyrics_world)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ds = ray.data.from_items([{"id": f"i{n}", "text": t} for n, t in enumerate(TEXTS)])
        kept = scanner.filter_ray(ds, concurrency=2, batch_size=2).take_all()
    finally:
        ray.shutdown()
    assert sorted(r["id"] for r in kept) == [f"i{n}" for n in range(6) if KEEP[n]]


def test_scan_and_refusal(tmp_path: Path, lyrics_world: LyricsWorld) -> None:
    import json

    (tmp_path / "m.jsonl").write_text(
        "\n".join(json.dumps({"id": f"i{n}", "text": t}) for n, t in enumerate(TEXTS)) + "\n")
    report = _scanner(lyrics_world).scan(tmp_path / "m.jsonl", tmp_path / "out")
    assert report["counts"]["excluded"] == 3 and report["counts"]["kept"] == 3
    import shutil

    shutil.rmtree(lyrics_world.index / "lyrics")
    with pytest.raises(IndexStoreError):
        _scanner(lyrics_world)
