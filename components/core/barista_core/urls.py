"""Backend URLs: parsing and masking of credentials for messages and logs."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (safe to log or print)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{user}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()


def local_path_of(url: str) -> str:
    """The filesystem path of an embedded-backend URL such as ``chdb:///var/lib/barista/ch``."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        # chdb://relative/dir is ambiguous; we only accept absolute paths (three slashes).
        return f"{parts.netloc}{parts.path}"
    return parts.path
