"""``tdmguard work list --search/--limit/--offset``: the service's catalogue search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tdmguard.cli.app import main


def test_work_list_search_and_paging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TDMGUARD_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("TDMGUARD_INDEX", raising=False)

    def run(*args: str) -> Any:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out = capsys.readouterr().out
        assert exit_info.value.code == 0, out
        return json.loads(out) if "--json" in args else out

    run("holder", "add", "Aurora")
    for i, title in enumerate(["Dawn", "Dusk", "Dawn Chorus"]):
        run("work", "add", "--holder", "Aurora", "--title", title, "--id", f"AUR-{i}")
    found = run("work", "list", "--search", "dawn", "--json")
    assert [w["id"] for w in found] == ["AUR-0", "AUR-2"]
    page = run("work", "list", "--search", "aur", "--limit", "1", "--offset", "1", "--json")
    assert [w["id"] for w in page] == ["AUR-1"]
