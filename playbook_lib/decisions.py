"""Module decisions (to be written)."""
