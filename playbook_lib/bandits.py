"""Module bandits (to be written)."""
