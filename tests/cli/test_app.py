"""The command line's own shape: help grouped by role, flags shown as flags, the default
registry location announced on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


# Heavy libraries a command loads only when it runs: declaring the commands (and so
# `tdmguard --help`, or the start of `tdmguard scan`) must not import them.
_HEAVY = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "numba", "numpy", "cryptography",
          "tdmguard.registry.store", "tdmguard.registry.service", "tdmguard.declare",
          "tdmguard.scan.runner", "tdmguard.signals.check")


def _modules_after(code: str) -> set[str]:
    probe = (f"import json, sys\n{code}\n"
             "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_declaring_the_commands_imports_no_heavy_library() -> None:
    loaded = _modules_after("import tdmguard.cli.app")
    assert "tdmguard.cli.scan_cmd" in loaded  # the probe did import the CLI
    assert not loaded & set(_HEAVY), sorted(loaded & set(_HEAVY))
    # --help of a command builds every command's parameters: still nothing heavy
    loaded = _modules_after("from tdmguard.cli.app import main\n"
                            "try:\n    main(['scan', '--help'])\nexcept SystemExit:\n    pass")
    assert not loaded & set(_HEAVY), sorted(loaded & set(_HEAVY))


def test_help_lists_every_command_in_a_fresh_process() -> None:
    names = sorted(cli_command().commands)
    assert {"scan", "registry", "work", "identify", "serve", "demo", "apikey"} <= set(names)
    done = subprocess.run([sys.executable, "-c", "from tdmguard.cli.app import main; main()",
                           "--help"], capture_output=True, text=True, timeout=120,
                          env=os.environ | {"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1] for line in done.stdout.splitlines()
              if line.startswith("│ ") and len(line.split()) > 1}
    assert set(names) <= listed, sorted(set(names) - listed)


def test_import_mode_choices_are_the_importer_modes() -> None:
    from tdmguard.cli.registry_cmds import ImportModeChoice
    from tdmguard.registry.catalogue_import import ImportMode

    assert [m.value for m in ImportModeChoice] == [m.value for m in ImportMode]


def test_an_error_is_printed_whole_on_a_narrow_terminal(tmp_path: Path) -> None:
    """The message is not read as rich markup (a path may hold brackets) and not folded at
    the terminal's width (a folded path cannot be copied back)."""
    db = tmp_path / "[bold]a-folder-name-longer-than-the-terminal-is-wide" / "r.db"
    db.parent.mkdir()
    env = {**os.environ, "COLUMNS": "30", "TDMGUARD_DB": str(db)}
    done = subprocess.run([sys.executable, "-c", "from tdmguard.cli.app import main; main()",
                           "identify", "song.mp3"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"error: {db}: no registry here" in done.stderr
