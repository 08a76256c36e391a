"""Simulator module (to be written)."""

__all__: list[str] = []
