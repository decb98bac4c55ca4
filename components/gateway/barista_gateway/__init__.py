"""Barista gateway."""
