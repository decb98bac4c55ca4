"""The tenant API (FastAPI): routes per resource over service functions; the edge authenticates first."""
