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
        "audio-match": "tdmguard.scan.checks.content:make_audio",
        "lyrics-match": "tdmguard.scan.checks.content:make_lyrics",
        "melody-match": "tdmguard.scan.checks.content:make_melody",
        "image-match": "tdmguard.scan.checks.content:make_image",
        "embedded-signals": "tdmguard.scan.checks.embedded:make_check",
        "url-signals": "tdmguard.scan.checks.url_signals:make_check",
    }
)


def load_factory(name: str) -> CheckFactory:
    """A registered check by name, or a plug-in given as ``package.module:function``."""
    spec = CHECK_FACTORIES.get(name, name)
    if ":" not in spec:
        raise KeyError(name)
    module_name, _, attr = spec.partition(":")
    factory: CheckFactory = getattr(importlib.import_module(module_name), attr)
    return factory
