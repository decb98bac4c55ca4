"""Barista worker."""
