"""(being written) Pure policy decisions."""
