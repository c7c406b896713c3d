"""``tdmguard report`` and ``tdmguard summary`` on real scan folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdmguard.cli.app import main
from tests.scan.scan_factory import HERE, fixed_scans


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_report_of_two_scans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    media, web = fixed_scans(tmp_path)
    code, out, _ = _run(["report", str(media), str(web), "--out", str(tmp_path / "r.html"),
                         "--json"], capsys)
    assert code == 0 and json.loads(out) == {"report_html": str(tmp_path / "r.html")}
    page = (tmp_path / "r.html").read_text("utf-8")
    assert "Scan 2: settings" in page
    code, out, _ = _run(["report", str(media)], capsys)  # default: into the scan folder
    assert code == 0 and (media / "report.html").exists() and "report page:" in out


def test_summary_files_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    media, web = fixed_scans(tmp_path)
    code, out, _ = _run(["summary", str(media), str(web), "--out", str(tmp_path / "s"),
                         "--provider-info", str(HERE / "data" / "provider-info.yaml")], capsys)
    assert code == 0
    for name in ("summary.md", "summary.html", "summary.json", "removal-manifest.jsonl"):
        assert str(tmp_path / "s" / name) in out.replace("\n", "")
    code, out, _ = _run(["summary", str(media), "--out", str(tmp_path / "t"), "--json"], capsys)
    summary = json.loads(out)
    assert code == 0 and summary["figures"]["excluded"] == 9
    assert summary["1_general_information"]["1_1_provider"]["name"].startswith("unknown")


def test_bad_input_is_one_line_and_an_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["summary", str(tmp_path), "--out", str(tmp_path / "s")], capsys)
    assert code == 3 and "no report.json" in err and "Traceback" not in err
    media, _ = fixed_scans(tmp_path / "x")
    bad = tmp_path / "p.json"
    bad.write_text('{"provider": "X"}')
    code, _, err = _run(["summary", str(media), "--out", str(tmp_path / "s"),
                         "--provider-info", str(bad)], capsys)
    assert code == 3 and "unknown field(s) provider" in err
