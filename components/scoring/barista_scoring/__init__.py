"""Barista scoring."""
