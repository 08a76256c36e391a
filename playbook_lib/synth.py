"""Module synth (to be written)."""
