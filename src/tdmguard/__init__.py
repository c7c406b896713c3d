"""tdmguard: declare, publish, check and enforce TDM / AI-training opt-outs for music, lyrics
and artwork."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tdmguard")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
