"""Barista pipelines."""
