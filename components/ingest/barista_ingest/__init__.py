"""Barista ingest."""
