"""Image matching benchmark (run.py) and threshold calibration (calibrate.py)."""
