"""identify bounds the time one file may take (issue 18): a file over --item-timeout is
reported as failed, the run goes on, and the exit code says how many failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdmguard.cli.app import main
from tdmguard.cli.exit_codes import ExitCode
from tdmguard.demo import demo_data_dir

LYRIC = demo_data_dir() / "lyrics" / "jeanie_with_the_light_brown_hair.txt"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0), capsys.readouterr().out


def test_a_file_over_its_budget_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TDMGUARD_DB", str(tmp_path / "r.db"))
    monkeypatch.delenv("TDMGUARD_INDEX", raising=False)
    assert _run(capsys, "holder", "add", "H")[0] == 0
    assert _run(capsys, "work", "add", "--holder", "H", "--title", "Jeanie",
                "--lyrics", str(LYRIC))[0] == 0
    code, out = _run(capsys, "identify", str(LYRIC), "--json")
    assert code == 0 and json.loads(out)["matches"]
    code, out = _run(capsys, "identify", str(LYRIC), "--json", "--item-timeout", "0.000001")
    assert code == ExitCode.ALL_FAILED
    assert "budget" in json.loads(out)["error"]
    missing = tmp_path / "missing.txt"
    code, out = _run(capsys, "identify", str(LYRIC), str(missing), "--json")
    assert code == ExitCode.PARTIAL
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["matches"] and "no such file" in second["error"]
