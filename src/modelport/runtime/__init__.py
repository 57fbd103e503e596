"""Runtimes: one file per model flavor behind the small contract in :mod:`.base`."""
