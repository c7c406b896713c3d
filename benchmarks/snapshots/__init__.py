"""Signed snapshot export and pull at catalogue scale (issue 11)."""
