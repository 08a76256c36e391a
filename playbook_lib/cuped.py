"""Module cuped (to be written)."""
