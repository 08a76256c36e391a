"""Module abtest (to be written)."""
