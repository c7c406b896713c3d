"""Registry server benchmark: ``python -m benchmarks.server`` (see run.py)."""
