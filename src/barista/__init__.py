"""The barista CLI."""
