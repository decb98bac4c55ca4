"""Barista operator."""
