"""A pull killed with SIGKILL at any step leaves the previous mirror (or, once the database
transaction committed, the complete new one): never a mix (registry/snapshot/apply.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tdmguard.registry.snapshot import export_snapshot, list_sources, recover
from tdmguard.registry.store import Registry
from tdmguard.signing import generate_signing_key, save_signing_key

from .states import index_content, registry_content
from .test_apply import Mirror, _change, build_source, grow

# Runs `tdmguard registry pull` and SIGKILLs itself at the N-th call of one step.
KILLER = textwrap.dedent("""
    import os, signal, sys
    import sqlalchemy.orm.session as orm_session
    import tdmguard.registry.snapshot.apply as apply
    import tdmguard.registry.snapshot.fetch as fetch
    from tdmguard.cli.app import main

    step, n = sys.argv[1], int(sys.argv[2])
    calls = [0]

    def wrap(func):
        def inner(*args, **kwargs):
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), signal.SIGKILL)
            return func(*args, **kwargs)
        return inner

    if step == "replace":  # journal, segment moves, index manifests (all atomic renames)
        os.replace = wrap(os.replace)
    elif step == "copy":  # staging the snapshot's files
        fetch._copy_checked = wrap(fetch._copy_checked)
    elif step == "commit":  # the database commit
        orm_session.SessionTransaction.commit = wrap(orm_session.SessionTransaction.commit)
    elif step == "manifests":  # committed, the index manifests not yet rewritten
        apply._write_manifests = wrap(apply._write_manifests)
    elif step == "after-commit":  # deleting the replaced segments
        apply._remove_segments = wrap(apply._remove_segments)
    main(sys.argv[3:])
""")


def _state(db: Path, index: Path) -> tuple[object, ...]:
    reg = Registry.open(f"sqlite:///{db}")
    try:
        recover(reg, index)
        sources = [(s.seq, s.head) for s in list_sources(reg)]
        return registry_content(reg), index_content(index), sources
    finally:
        reg.close()


def _pull(tmp: Path, mirror: Path, snapshot: Path, pub: Path, step: str, n: int
          ) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TDMGUARD_DB": str(mirror / "mirror.db"),
                        "TDMGUARD_INDEX": str(mirror / "mirror.index")}
    return subprocess.run(
        [sys.executable, "-c", KILLER, step, str(n), "registry", "pull", str(snapshot),
         "--trust", str(pub)], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("kill")
    key = generate_signing_key()
    pub = save_signing_key(key, root / "k.pem")
    reg, index = build_source(root)
    s1 = export_snapshot(reg, root / "s1", key)
    grow(reg, index)
    _change(reg, index)  # a work replaced and works removed: the delta rewrites a segment
    s2 = export_snapshot(reg, root / "s2", key)
    d1 = export_snapshot(reg, root / "d1", key, since=s1.manifest.seq_to)
    # the new state, pulled without interruption
    done = Mirror(root / "done")
    done.pull(s1.folder, key)
    done.pull(s2.folder, key)
    done.reg.close()
    old = Mirror(root / "old")
    old.pull(s1.folder, key)
    old.reg.close()
    return {"root": root, "pub": pub, "s2": s2.folder, "d1": d1.folder,
            "old": _state(old.db, old.index), "new": _state(done.db, done.index)}


def _kill_and_check(scene: dict[str, object], tmp_path: Path, snapshot: str, step: str,
                    n: int) -> str:
    root = scene["root"]
    assert isinstance(root, Path)
    mirror = tmp_path / f"m-{snapshot}-{step}-{n}"
    shutil.copytree(root / "old", mirror)
    proc = _pull(tmp_path, mirror, Path(str(scene[snapshot])), Path(str(scene["pub"])), step, n)
    state = _state(mirror / "mirror.db", mirror / "mirror.index")
    if proc.returncode == 0:
        assert state == scene["new"]
        return "finished"
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert state in (scene["old"], scene["new"]), f"mixed state after a kill at {step} #{n}"
    assert not list(mirror.glob(".mirror.index.pull-*"))
    return "new" if state == scene["new"] else "old"


@pytest.mark.parametrize(("step", "n", "expected"), [
    pytest.param("copy", 2, "old", marks=pytest.mark.slow),  # while staging files
    # after the journal, before the first segment is in place
    pytest.param("replace", 2, "old", marks=pytest.mark.slow),
    ("commit", 1, "old"),  # new segments in place but unlisted, database not committed
    ("manifests", 1, "new"),  # committed, index manifests not yet rewritten: rolled forward
    ("after-commit", 1, "new"),  # committed, replaced segments not yet deleted
])
def test_killed_pull_leaves_old_or_new_mirror(scene: dict[str, object], tmp_path: Path,
                                              step: str, n: int, expected: str) -> None:
    assert _kill_and_check(scene, tmp_path, "s2", step, n) == expected


@pytest.mark.slow
def test_killed_at_every_rename(scene: dict[str, object], tmp_path: Path) -> None:
    """Every atomic rename of a pull (journal, segment moves, then, after the commit, the
    index manifests): old state up to the commit, new after it, never a mix."""
    outcomes = []
    for snapshot in ("s2", "d1"):
        for n in range(1, 30):
            outcome = _kill_and_check(scene, tmp_path, snapshot, "replace", n)
            outcomes.append(outcome)
            if outcome == "finished":
                break
    assert "old" in outcomes and "new" in outcomes and outcomes.count("finished") == 2
