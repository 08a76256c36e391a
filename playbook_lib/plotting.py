"""Module plotting (to be written)."""
