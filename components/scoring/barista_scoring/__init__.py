"""Barista scoring: explainable fake-follower detection across 10 Indic scripts and Latin.

Pure logic (``script``, ``romanise``, ``names``, ``namesdb``, ``features``, ``model``, ``scorer``)
apart from the transports (``api``, ``batch``, ``embedded``, ``server``).
"""

from barista_scoring.profile import Profile, ProfileError, parse_profile

__all__ = ["Profile", "ProfileError", "parse_profile"]
