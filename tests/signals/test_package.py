"""``__all__`` of every signals module is pinned: each name exists, nothing is missing."""

from __future__ import annotations

import importlib
import pkgutil

import tdmguard.signals as signals


def test_all_is_exact() -> None:
    for info in pkgutil.iter_modules(signals.__path__):
        if info.ispkg:  # subpackages (metadata) pin their own
            continue
        module = importlib.import_module(f"tdmguard.signals.{info.name}")
        names = getattr(module, "__all__", None)
        assert names is not None, info.name
        for name in names:
            assert hasattr(module, name), f"{info.name}.{name}"
        public = {
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        }
        assert public <= set(names), f"{info.name}: {sorted(public - set(names))}"
