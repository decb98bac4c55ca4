"""Credentials shared by every component: API keys now; the token verifier joins here (gateway issue)."""
