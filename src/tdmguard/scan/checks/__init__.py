"""Scan checks, as plug-ins. Each engine or signal area adds one line to
:data:`CHECK_FACTORIES`: a name and the ``module:function`` of its factory, imported only when
a scan uses it (so a missing extra costs nothing until then)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

from tdmguard.scan.checks.base import Check, CheckContext, CheckFactory, CheckOutcome

__all__ = [
    "CHECK_FACTORIES",
    "Check",
    "CheckContext",
    "CheckFactory",
    "CheckOutcome",
    "load_factory",
]

CHECK_FACTORIES: Mapping[str, str] = MappingProxyType(
    {
        "url-signals": "tdmguard.scan.checks.url_signals:make_check",
    }
)


def load_factory(name: str) -> CheckFactory:
    module_name, _, attr = CHECK_FACTORIES[name].partition(":")
    factory: CheckFactory = getattr(importlib.import_module(module_name), attr)
    return factory
