from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tdmguard.scan.record import MediaKind, Record
from tdmguard.scan.shard import WorkerChecks, _one_thread_each, evaluate_record
from tests.scan.plugin_checks import NamesWorkCheck

PNG = Path(__file__).resolve().parents[1] / "corpus" / "image" / "snail.png"


def test_a_part_no_check_looks_at_is_not_written_out(tmp_path: Path) -> None:
    """A text check on a caption + image row: the image blob is not written to a temporary
    file (the media folder here does not exist, so any write would fail the record), the
    caption is checked; an audio part is always opened (a silent file is an error)."""
    worker = WorkerChecks([NamesWorkCheck(0.0)], {})
    caption = Record(id="r:caption", media=MediaKind.TEXT, text="work:W1\nwords")
    image = Record(id="r:image", media=MediaKind.IMAGE, data=PNG.read_bytes())
    row = Record(id="r", media=MediaKind.IMAGE, parts=(caption, image))
    missing = tmp_path / "no-such-folder"
    seconds: dict[str, float] = {}
    outcomes, failure = evaluate_record(worker, row, missing, seconds)
    assert failure is None
    assert [m.work_id for o in outcomes for m in o.matches] == ["W1"]
    audio = Record(id="r:audio", media=MediaKind.AUDIO, data=b"RIFF\x00\x00\x00\x00WAVE")
    _, failure = evaluate_record(
        worker, Record(id="s", media=MediaKind.AUDIO, parts=(caption, audio)), missing, seconds
    )
    assert failure is not None and "no-such-folder" in failure[1]


def test_pool_workers_run_library_thread_pools_on_one_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers share the cores: faiss/OpenBLAS get one thread each, unless the user chose."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    _one_thread_each()
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "1"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"


_SCRIPT = """
import os, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

with open(sys.argv[1], "a") as fh:  # each run of this file, under its module name
    fh.write(__name__ + "\\n")

if __name__ == "__main__":
    from tdmguard.scan.shard import worker_context

    checks = tuple(sys.argv[2:])
    with ProcessPoolExecutor(2, mp_context=worker_context(checks)) as pool:
        assert all(f.result() > 0 for f in [pool.submit(os.getpid) for _ in range(2)])
"""


@pytest.mark.parametrize(
    ("checks", "rerun"), [((), False), (("__main__:make",), True)]
)
def test_pool_workers_do_not_run_the_main_script_again(
    tmp_path: Path, checks: tuple[str, ...], rerun: bool
) -> None:
    """Spawned workers skip re-running the main script (the `tdmguard` command imports the
    whole CLI: seconds per worker), unless a plug-in check is defined there."""
    script, marker = tmp_path / "main.py", tmp_path / "runs.txt"
    script.write_text(_SCRIPT, "utf-8")
    root = Path(__file__).resolve().parents[2]
    env = os.environ | {"PYTHONPATH": str(root / "src")}
    subprocess.run([sys.executable, str(script), str(marker), *checks], check=True, env=env,
                   cwd=tmp_path, timeout=300)
    runs = marker.read_text("utf-8").split()
    assert runs[0] == "__main__" and ("__mp_main__" in runs) is rerun


def test_a_shard_writes_its_lines_in_input_order_whatever_holds_media(tmp_path: Path) -> None:
    """run_shard checks a run of records that hold nothing in memory before deciding them,
    and finishes a record holding media at once (the run before it first): each output
    still lists its records in the input's order, read errors and check errors included."""
    import json
    from datetime import date

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tdmguard.scan.decide import DecisionSettings
    from tdmguard.scan.job import ScanJob, registry_view
    from tdmguard.scan.runner import run_scan
    from tdmguard.vocab import DecisionKind, Purpose, Use
    from tests.scan.scan_factory import BODIES, PLUGIN, make_registry

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    texts, blobs = [], []
    for i in range(40):
        texts.append(None if i % 7 == 3 else BODIES[i % len(BODIES)] + f"\n{i}")
        blobs.append(png if i % 5 == 2 else (b"\x00\x01" if i % 7 == 3 else None))
    pq.write_table(pa.table({"id": [f"r{i:02d}" for i in range(40)], "text": texts,
                             "img": pa.array(blobs, pa.binary())}), tmp_path / "d.parquet")
    reg = make_registry(tmp_path / "r.db")
    job = ScanJob(source=tmp_path / "d.parquet", out_dir=tmp_path / "out",
                  index_dir=tmp_path / "index", view=registry_view(reg), checks=(PLUGIN,),
                  decision=DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL,
                                            actor="LicensedAI", at=date(2026, 1, 1),
                                            unknown=DecisionKind.REVIEW),
                  shard_size=16)
    reg.close()
    report = run_scan(job)
    seen: list[str] = []
    for name in ("kept", "excluded", "review", "errors"):
        lines = (tmp_path / "out" / f"{name}.jsonl").read_text().splitlines()
        ids = [json.loads(line)["id"] for line in lines]
        assert ids == sorted(ids), (name, ids)  # shards merge in order: rows in order
        seen += ids
    assert sorted(seen) == [f"r{i:02d}" for i in range(40)]
    assert sum(report["counts"].values()) == 40 and report["counts"]["errors"] >= 1
