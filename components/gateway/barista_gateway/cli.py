"""What ``barista token`` does: exchange an API key for a token at a running gateway.

The token goes to stdout alone (``TOKEN=$(barista token)``); hints go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from barista_core.auth.apikeys import parse_api_key
from barista_core.errors import BaristaError


def demo_api_key(data_dir: Path) -> str | None:
    """The demo tenant's API key that ``barista up`` keeps in its data directory, if any."""
    path = data_dir / "gateway" / "demo-api-key"
    return path.read_text().strip() if path.exists() else None


def run_token(*, url: str, api_key: str | None, data_dir: Path, curl: bool = True) -> int:
    key = api_key or demo_api_key(data_dir)
    if not key:
        raise BaristaError(f"no API key: pass --api-key or run `barista up` first (looked in {data_dir}/gateway)")
    if parse_api_key(key) is None:
        raise BaristaError("that is not a Barista API key (bk_<id>_<secret>)")
    try:
        response = httpx.post(f"{url.rstrip('/')}/v1/auth/token", headers={"X-API-Key": key}, timeout=10)
    except httpx.HTTPError as exc:
        raise BaristaError(f"cannot reach the gateway at {url}: {exc}") from None
    if response.status_code != 200:
        try:
            error = response.json()["error"]
            reason = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            reason = response.text[:200]
        raise BaristaError(f"the gateway refused the key ({response.status_code} {reason})")
    body = response.json()
    print(body["access_token"])
    if curl:
        print(
            f"valid {body['expires_in'] // 60} min; try:\n"
            f"  curl -s -H 'Authorization: Bearer {body['access_token']}' '{url.rstrip('/')}/v1/tenants/me'",
            file=sys.stderr,
        )
    return 0
