"""Module sequential (to be written)."""
