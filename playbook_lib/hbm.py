"""Module hbm (to be written)."""
