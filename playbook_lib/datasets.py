"""Module datasets (to be written)."""
