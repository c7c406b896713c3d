"""Melody benchmark on the music21 corpus (see RESULTS.md)."""
