"""The command line's own shape: help grouped by role, flags shown as flags, the default
registry location announced on first use."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tdmguard.cli.app import cli_command, main


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([*args, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _run(*args: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    assert info.value.code == 0


def _paths() -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    root = cli_command()
    for name, cmd in root.commands.items():
        out.append((name,))
        for sub in getattr(cmd, "commands", {}):
            out.append((name, sub))
    return out


def test_help_groups_commands_by_role(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    text = _help(capsys)
    for panel in ("Rights holders", "AI developers and dataset builders", "Platforms"):
        assert panel in text
    assert "Other" not in text, "every command belongs to a role (cli/app.py _ROLES)"


def test_flags_are_shown_as_flags_everywhere(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    paths = _paths()
    assert ("work", "import") in paths and ("scan",) in paths
    for path in paths:
        text = _help(capsys, *path)
        assert "<bool>" not in text, f"tdmguard {' '.join(path)} --help shows a flag's type"


def test_default_registry_is_announced_on_first_use(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TDMGUARD_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    _run("holder", "list", "--json")
    assert f"the registry is {tmp_path / 'tdmguard' / 'tdmguard.db'}" in \
        capsys.readouterr().err.replace("\n", "")
    _run("holder", "list", "--json")
    assert "note:" not in capsys.readouterr().err


def test_demo_removes_its_temporary_folder(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    # The demo itself is tested in test_demo_cmd.py; here only where it writes.
    seen: list[Path] = []

    def fake_run_demo(workdir: Path, *, show_progress: bool) -> dict[str, object]:
        (workdir / "registry.db").write_bytes(b"x")
        seen.append(workdir)
        return {"workdir": str(workdir)}

    monkeypatch.setattr("tdmguard.cli.demo_cmd.run_demo", fake_run_demo)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    _run("demo", "--json")
    assert seen and seen[0].parent == tmp_path / "tmp" and not seen[0].exists()
    _run("demo", "--json", "--out", str(tmp_path / "kept"))
    assert (tmp_path / "kept" / "registry.db").is_file()
