"""The flow registry: source name → a flow built from the worker's settings.

=====================  ==================================================  =====================
source                 requests per target                                 snapshots
=====================  ==================================================  =====================
``instagram.profile``  web_profile_info                                    ``profile.snapshot``
``instagram.posts``    web_profile_info, then feed pages                   ``post.snapshot``
``instagram.followers``  web_profile_info, then follower pages             ``follower.snapshot``
``youtube.channel``    channels                                            ``profile.snapshot``
``youtube.videos``     channels, playlistItems pages, videos per page      ``post.snapshot``
``shopify.products``   products.json pages                                 ``product.snapshot``
``http.json``          the configured URL                                  per the field mapping
=====================  ==================================================  =====================

:func:`build_flow` raises :class:`~barista_core.errors.ConfigError` (one line) when the settings cannot
make the flow: a missing API key, a malformed ``BARISTA_HTTP_JSON``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from barista_core.contracts import WorkerSettings
from barista_core.errors import ConfigError
from barista_worker.model import Flow
from barista_worker.sources.httpjson import HttpJsonFlow, parse_config
from barista_worker.sources.instagram import InstagramFlow
from barista_worker.sources.shopify import ShopifyFlow
from barista_worker.sources.youtube import YouTubeFlow

#: Keys of the credentials Secret that may hold a YouTube API key (the first present wins).
API_KEY_NAMES = ("api-key", "api_key", "apiKey", "key")


def read_credentials(directory: str | None) -> dict[str, str]:
    """Every key of the mounted credentials Secret (one file each), stripped of surrounding whitespace."""
    if directory is None:
        return {}
    path = Path(directory)
    if not path.is_dir():
        raise ConfigError(f"BARISTA_CREDENTIALS_DIR {directory} is not a directory")
    found: dict[str, str] = {}
    for entry in sorted(path.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():  # Secret volumes keep ..data links
            continue
        try:
            found[entry.name] = entry.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read credential {entry}: {exc}") from None
    return found


def _instagram(settings: WorkerSettings, credentials: dict[str, str]) -> Flow:
    return InstagramFlow(
        settings.source, base_url=settings.instagram_base_url, max_pages=settings.max_pages, credentials=credentials
    )


def _youtube(settings: WorkerSettings, credentials: dict[str, str]) -> Flow:
    api_key = next((credentials[name] for name in API_KEY_NAMES if credentials.get(name)), None)
    if api_key is None:
        where = settings.credentials_dir or "(BARISTA_CREDENTIALS_DIR is not set)"
        raise ConfigError(
            f"{settings.source} needs a YouTube Data API key: key 'api-key' in the flow's credentials Secret "
            f"(mounted at {where})"
        )
    return YouTubeFlow(settings.source, base_url=settings.youtube_base_url, max_pages=settings.max_pages,
                       api_key=api_key)  # fmt: skip


def _shopify(settings: WorkerSettings, credentials: dict[str, str]) -> Flow:
    return ShopifyFlow(url_template=settings.shopify_url_template, max_pages=settings.max_pages)


def _http_json(settings: WorkerSettings, credentials: dict[str, str]) -> Flow:
    assert settings.http_json is not None  # WorkerSettings requires it for http.json
    return HttpJsonFlow(parse_config(settings.http_json), credentials=credentials)


REGISTRY: dict[str, Callable[[WorkerSettings, dict[str, str]], Flow]] = {
    "instagram.profile": _instagram,
    "instagram.posts": _instagram,
    "instagram.followers": _instagram,
    "youtube.channel": _youtube,
    "youtube.videos": _youtube,
    "shopify.products": _shopify,
    "http.json": _http_json,
}


def build_flow(settings: WorkerSettings) -> Flow:
    builder = REGISTRY.get(settings.source)
    if builder is None:  # the contract's Literal and this registry must agree
        raise ConfigError(f"BARISTA_SOURCE {settings.source!r} has no flow")
    return builder(settings, read_credentials(settings.credentials_dir))


__all__ = ["REGISTRY", "build_flow", "read_credentials"]
