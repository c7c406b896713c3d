"""``__all__`` is pinned: every module's exports exist, and the shared vocabulary's public
names are exactly these (a change here is a change of contract)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tdmguard
from tdmguard import errors, vocab

OPTIONAL = ("tdmguard.registry.migrations",)


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tdmguard.__path__, "tdmguard."):
        if not info.name.startswith(OPTIONAL):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_all_names_exist(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra not installed here
        pytest.skip(f"{name}: {exc}")
    for export in getattr(module, "__all__", []):
        assert hasattr(module, export), f"{name}.__all__ names missing {export!r}"


def test_vocab_contract() -> None:
    assert sorted(vocab.__all__) == sorted([
        "CROSSWALK", "COVERS", "Decision", "DecisionKind", "Evidence", "Match", "MergedStances",
        "Modality", "Purpose", "Reason", "Stance", "Use", "Verdict", "WorkKind",
        "cap_on_thin_evidence", "covered_uses", "merge_verdicts", "uses_for_label"])
    assert [u.value for u in vocab.Use] == ["tdm", "ai-train", "genai-train", "ai-input",
                                            "search"]


def test_error_tree() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.TdmguardError)
