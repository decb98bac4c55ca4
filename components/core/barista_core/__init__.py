"""Barista core."""
