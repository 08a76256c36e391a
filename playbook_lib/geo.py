"""Module geo (to be written)."""
