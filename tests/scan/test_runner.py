from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tdmguard.errors import InputError
from tdmguard.registry.store import NewWork, Registry
from tdmguard.scan.decide import DecisionSettings
from tdmguard.scan.job import ScanJob, registry_view
from tdmguard.scan.runner import run_scan
from tdmguard.vocab import DecisionKind, Purpose, Use

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.scan.plugin_checks:make"


def _registry(db: Path) -> Registry:
    reg = Registry.open(f"sqlite:///{db}")
    reg.add_holder("Aurora")
    reg.add_holder("Meadow")
    reg.add_works("Aurora", [NewWork(title=f"A{i}", external_id=f"AUR-{i}") for i in range(3)])
    reg.add_works("Meadow", [NewWork(title="M0", external_id="MEA-0")])
    reg.reserve("Aurora", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                purposes=[Purpose.COMMERCIAL])
    reg.grant_licence("Aurora", licensee="LicensedAI", uses=[Use.AI_TRAIN],
                      valid_from=date(2025, 1, 1), work_ids=["AUR-2"])
    return reg


def _dataset(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        body = ["work:AUR-0", "work:MEA-0", "plain text", "boom", "work:AUR-1",
                "work:AUR-2"][i % 6]
        (folder / f"doc{i:04d}.txt").write_text(body + "\nmore\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 4)


def _job(tmp: Path, reg: Registry, out: Path, **kw: object) -> ScanJob:
    decision = DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor="LicensedAI",
                                at=date(2026, 1, 1), unknown=DecisionKind.REVIEW)
    return ScanJob(source=tmp / "ds", out_dir=out, index_dir=tmp / "index", decision=decision,
                   view=registry_view(reg), checks=(PLUGIN, "audio-match"),
                   **kw)  # type: ignore[arg-type]


def test_scan_decides_with_reasons_and_evidence(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 8)
    report = run_scan(_job(tmp_path, reg, tmp_path / "out", shard_size=3))
    out = tmp_path / "out"
    lines = {name: [json.loads(x) for x in (out / f"{name}.jsonl").read_text().splitlines()]
             for name in ("kept", "excluded", "review", "errors")}
    by_id = {r["id"]: r for rows in lines.values() for r in rows}
    assert len(by_id) == 10  # every record exactly once
    assert by_id["doc0000.txt"]["decision"] == "exclude"  # AUR-0, reserved, not licensed
    assert by_id["doc0000.txt"]["evidence"][0]["source"] == "registry:lyrics"
    assert {r["code"] for r in by_id["doc0000.txt"]["reasons"]} == {"reserved-holder-wide"}
    assert by_id["doc0000.txt"]["matches"][0]["work_id"] == "AUR-0"
    assert by_id["doc0001.txt"]["decision"] == "keep"  # MEA-0: Meadow reserved nothing
    assert by_id["doc0002.txt"]["decision"] == "review"  # no signal, --unknown review
    assert "plug-in bug" in by_id["doc0003.txt"]["error"]
    assert by_id["doc0004.txt"]["decision"] == "exclude"  # AUR-1
    # AUR-2 is licensed to this actor: kept, with the reservation and the licence as reasons.
    assert by_id["doc0005.txt"]["decision"] == "keep"
    assert [r["code"] for r in by_id["doc0005.txt"]["reasons"]] == [
        "reserved-holder-wide", "licensed"]
    assert by_id["doc0006.txt"]["decision"] == "exclude"
    assert by_id["doc0007.txt"]["decision"] == "keep"
    assert by_id["empty.txt"]["error"] == "empty file"
    assert by_id["blob.bin"]["decision"] == "review"  # unknown media, no signal
    assert report["counts"] == {"kept": 3, "excluded": 3, "review": 2, "errors": 2}
    assert report["by_holder"]["Aurora"] >= 2
    assert report["registry"]["digest"] == reg.state_digest()
    assert report["checks"]["skipped"]["audio-match"]


def test_refuses_non_empty_output_and_changed_plan(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 4)
    run_scan(_job(tmp_path, reg, tmp_path / "out"))
    with pytest.raises(InputError, match="not empty"):
        run_scan(_job(tmp_path, reg, tmp_path / "out"))
    (tmp_path / "ds" / "new.txt").write_text("x")
    with pytest.raises(InputError, match="cannot resume"):
        run_scan(_job(tmp_path, reg, tmp_path / "out"), resume=True)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from tdmguard.cli.app import main; main()",
                             *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _outputs(out: Path) -> dict[str, list[str]]:
    return {name: sorted((out / f"{name}.jsonl").read_text().splitlines())
            for name in ("kept", "excluded", "review", "errors")}


def test_sigkill_then_resume_gives_the_same_output(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    reg.close()
    _dataset(tmp_path / "ds", 120)
    env = dict(os.environ, TDMGUARD_DB=str(tmp_path / "r.db"), PYTHONPATH=str(ROOT))
    common = ["scan", str(tmp_path / "ds"), "--use", "ai-train", "--purpose", "commercial",
              "--actor", "LicensedAI", "--at", "2026-01-01", "--check", PLUGIN,
              "--shard-size", "4", "--workers", "2", "--json"]
    ref = _cli([*common, "--out", str(tmp_path / "ref")], env)
    assert ref.wait(120) == 13, ref.stderr.read() if ref.stderr else ""

    out = tmp_path / "killed"
    proc = _cli([*common, "--out", str(out), "--check-opt", "delay_s=0.02"], env)
    deadline = time.time() + 60
    while time.time() < deadline:
        shards = out / "shards"
        if shards.exists() and sum(1 for p in shards.iterdir() if p.name.isdigit()) >= 4:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    done = sum(1 for p in (out / "shards").iterdir() if p.name.isdigit())
    assert 4 <= done < 31, "the scan must be killed mid-way for this test to mean anything"
    assert not (out / "report.json").exists()

    resumed = _cli([*common, "--out", str(out), "--check-opt", "delay_s=0.02", "--resume"], env)
    assert resumed.wait(120) == 13, resumed.stderr.read() if resumed.stderr else ""
    report = json.loads(resumed.stdout.read() if resumed.stdout else b"{}")
    assert report["resumed"] is True
    assert _outputs(out) == _outputs(tmp_path / "ref")
    assert sum(report["counts"].values()) == 122
