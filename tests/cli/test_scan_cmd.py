"""``tdmguard scan`` with a remote ``--out`` (S3 through fsspec, moto on 127.0.0.1): the scan
works in a local folder and publishes its outputs, report last; resume works from there."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tdmguard.cli.exit_codes import ExitCode
from tdmguard.cli.scan_cmd import exit_code_of, scan_dataset
from tdmguard.config import Settings
from tdmguard.scan.decide import DecisionSettings
from tdmguard.vocab import Purpose, Use
from tests.scan.conftest import JEANIE, LyricsWorld, lyrics_world, s3_endpoint

__all__ = ["lyrics_world", "s3_endpoint"]  # fixtures used here


def test_remote_out_is_published_after_a_local_run(
    tmp_path: Path, lyrics_world: LyricsWorld, s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    import fsspec

    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                 aws_secret_access_key="testing", region_name="us-east-1").create_bucket(
        Bucket="results")
    monkeypatch.setenv("TDMGUARD_SCAN_WORK", str(tmp_path / "work"))
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.txt").write_text(JEANIE)
    (tmp_path / "ds" / "b.txt").write_text("a caption")
    (tmp_path / "ds" / "c.zip").write_bytes(b"PK\x03\x04 not opened")
    settings = Settings(db_url=f"sqlite:///{lyrics_world.db}", index_dir=lyrics_world.index)
    decision = DecisionSettings(Use.AI_TRAIN, Purpose.COMMERCIAL, "SomeAI", date(2026, 1, 1))
    report = scan_dataset(settings, tmp_path / "ds", "s3://results/run1", decision=decision,
                          checks=["lyrics-match"], workers=1, show_progress=False,
                          write_kept=True)
    assert exit_code_of(report) is ExitCode.PARTIAL
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    names = sorted(p.split("run1/", 1)[1] for p in fs.find("results/run1"))
    assert names == ["errors.jsonl", "excluded.jsonl", "kept.jsonl", "kept/b.txt", "plan.json",
                     "report.html", "report.json", "review.jsonl"]
    assert json.loads(fs.cat("results/run1/report.json"))["counts"]["errors"] == 1
    assert fs.cat("results/run1/kept/b.txt") == b"a caption"
