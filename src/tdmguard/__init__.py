"""tdmguard: declare, publish, check and enforce TDM / AI-training opt-outs for music, lyrics
and artwork."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tdmguard")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

__all__ = ["Scanner", "__version__"]


def __getattr__(name: str) -> object:
    """``tdmguard.Scanner`` is imported on first use, so ``import tdmguard`` stays light."""
    if name == "Scanner":
        # Imported by name: the root package is no layer, and the scan stack is loaded
        # only by those who use it.
        import importlib

        return importlib.import_module("tdmguard.scan.api").Scanner
    raise AttributeError(f"module 'tdmguard' has no attribute {name!r}")
