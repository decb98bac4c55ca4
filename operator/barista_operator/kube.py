"""A small async Kubernetes API client on aiohttp, using the credentials kopf resolved.

The operator's own calls (children, status, pruning) go through here: create (409 is reported as
:class:`Conflict` so callers can treat it as success and go on to patch), get, merge/JSON patch,
delete, list by labels. kopf keeps its own session for watching and its bookkeeping patches.

Bodies are never logged: a tenant's credentials Secret passes through this module.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import kopf
import orjson

from barista_operator.api import KINDS


@dataclass(frozen=True, slots=True)
class ResourceType:
    """Where a kind lives in the API: ``/api/v1`` or ``/apis/<group>/<version>``, plural, scope."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base


def _rt(api_version: str, kind: str, plural: str, namespaced: bool) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(group=group, version=version, kind=kind, plural=plural, namespaced=namespaced)


#: Every kind the operator reads or writes through this client.
RESOURCE_TYPES: dict[tuple[str, str], ResourceType] = {
    (rt.api_version, rt.kind): rt
    for rt in (
        _rt("v1", "Namespace", "namespaces", False),
        _rt("v1", "ResourceQuota", "resourcequotas", True),
        _rt("v1", "LimitRange", "limitranges", True),
        _rt("v1", "ServiceAccount", "serviceaccounts", True),
        _rt("v1", "Secret", "secrets", True),
        _rt("v1", "ConfigMap", "configmaps", True),
        _rt("v1", "Service", "services", True),
        _rt("apps/v1", "Deployment", "deployments", True),
        _rt("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True),
        *(_rt(k.resource.rsplit("/", 1)[0], k.kind, k.plural, k.namespaced) for k in KINDS),
    )
}


def resource_type(api_version: str, kind: str) -> ResourceType:
    try:
        return RESOURCE_TYPES[(api_version, kind)]
    except KeyError:
        raise ValueError(f"the operator does not manage {kind} ({api_version})") from None


def type_of(obj: Mapping[str, Any]) -> ResourceType:
    return resource_type(obj["apiVersion"], obj["kind"])


def ref(obj: Mapping[str, Any]) -> tuple[ResourceType, str | None, str]:
    meta = obj.get("metadata", {})
    rt = type_of(obj)
    return rt, meta.get("namespace") if rt.namespaced else None, meta["name"]


def describe(obj: Mapping[str, Any]) -> str:
    """``Deployment tenant-acme/gateway``: how children are named in messages."""
    meta = obj.get("metadata", {})
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


# ---- errors ----------------------------------------------------------------------------------------------


class ApiError(Exception):
    """The API server refused a request (or could not be reached: status 0)."""

    def __init__(self, status: int, reason: str, message: str, *, method: str = "", path: str = "") -> None:
        self.status, self.reason, self.message, self.method, self.path = status, reason, message, method, path
        super().__init__(f"{method} {path}: {status} {reason}: {message}".strip())

    @property
    def transient(self) -> bool:
        """Worth retrying unchanged: unreachable, throttled, server-side trouble, or a lost race."""
        return self.status in (0, 409, 429) or self.status >= 500


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class Forbidden(ApiError):
    pass


class Invalid(ApiError):
    """422: the API server rejected the object (schema, admission)."""


_ERRORS: dict[int, type[ApiError]] = {403: Forbidden, 404: NotFound, 409: Conflict, 422: Invalid}


# ---- the client ----------------------------------------------------------------------------------------------

CredentialsFn = Callable[[], kopf.ConnectionInfo | None]


class KubeClient:
    """One aiohttp session to the API server; re-reads credentials once on a 401."""

    def __init__(self, *, concurrency: int = 50, timeout: float = 30.0, user_agent: str = "barista-operator") -> None:
        self._concurrency = concurrency
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
        self._user_agent = user_agent
        self._credentials: CredentialsFn | None = None
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        #: Requests sent (for metrics and benchmarks).
        self.calls = 0

    def use_credentials(self, credentials: CredentialsFn, info: kopf.ConnectionInfo | None = None) -> None:
        """Where to get credentials (called again after a 401); ``info`` is the current result."""
        self._credentials = credentials
        if info is not None and info != self._info:
            self._info = info
            old, self._session = self._session, None
            if old is not None:
                asyncio.get_running_loop().create_task(old.close())

    @property
    def ready(self) -> bool:
        return self._info is not None or self._credentials is not None

    async def _open(self) -> aiohttp.ClientSession:
        async with self._lock:
            if self._closed:
                raise ApiError(0, "ClientClosed", "the operator is shutting down")
            if self._session is None or self._session.closed:
                if self._info is None:
                    if self._credentials is None:
                        raise ApiError(0, "NoCredentials", "the operator has not logged in to the API yet")
                    self._info = self._credentials()
                    if self._info is None:
                        raise ApiError(0, "NoCredentials", "no kubeconfig or service account found")
                info = self._info
                ssl_context: ssl.SSLContext | bool = info.as_ssl_context()
                if info.insecure:
                    ssl_context = False
                headers = {**info.as_http_headers(), "User-Agent": self._user_agent, "Accept": "application/json"}
                self._session = aiohttp.ClientSession(
                    base_url=None,
                    connector=aiohttp.TCPConnector(limit=self._concurrency, ssl=ssl_context),
                    headers=headers,
                    timeout=self._timeout,
                    trust_env=info.trust_env,
                )
            return self._session

    async def close(self, *, final: bool = True) -> None:
        self._closed = self._closed or final
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> Any:
        for attempt in (1, 2):
            session = await self._open()
            assert self._info is not None
            url = self._info.server.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
            data = None if body is None else orjson.dumps(body)
            headers = {"Content-Type": content_type} if data is not None else None
            self.calls += 1
            try:
                async with session.request(method, url, data=data, headers=headers, proxy=self._info.proxy_url) as r:
                    if r.status == 401 and attempt == 1 and self._credentials is not None:
                        self._info = None  # re-read the (possibly rotated) token and retry once
                        await self.close(final=False)
                        continue
                    payload = await r.read()
                    if r.status >= 400:
                        raise _error(r.status, payload, method, path)
                    return orjson.loads(payload) if payload else None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise ApiError(
                    0, type(exc).__name__, str(exc) or "connection failed", method=method, path=path
                ) from exc
        raise ApiError(401, "Unauthorized", "credentials were refused twice", method=method, path=path)

    # ---- verbs ---------------------------------------------------------------------------------------------

    async def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``obj``; raises :class:`Conflict` when it already exists."""
        rt, namespace, _ = ref(obj)
        return await self.request("POST", rt.path(namespace), body=obj)

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", rt.path(namespace, name))
        except NotFound:
            return None

    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        subresource: str | None = None,
        json_patch: bool = False,
    ) -> dict[str, Any] | None:
        """Merge-patch (a dict) or JSON-patch (a list, ``json_patch=True``); None when the object is gone."""
        content_type = "application/json-patch+json" if json_patch else "application/merge-patch+json"
        try:
            return await self.request(
                "PATCH", rt.path(namespace, name, subresource), body=patch, content_type=content_type
            )
        except NotFound:
            return None

    async def delete(self, rt: ResourceType, namespace: str | None, name: str) -> bool:
        """Delete (background propagation); False when it was not there."""
        try:
            await self.request("DELETE", rt.path(namespace, name), params={"propagationPolicy": "Background"})
        except NotFound:
            return False
        return True

    async def list(
        self, rt: ResourceType, namespace: str | None, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Objects matching ``labels`` (also checked here, in case the server ignores the selector)."""
        params = {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else None
        result = await self.request("GET", rt.path(namespace), params=params)
        items = (result or {}).get("items", [])
        wanted = dict(labels or {})
        out = []
        for item in items:
            item.setdefault("apiVersion", rt.api_version)
            item.setdefault("kind", rt.kind)
            have = item.get("metadata", {}).get("labels") or {}
            if all(have.get(k) == v for k, v in wanted.items()):
                out.append(item)
        return out


def _error(status: int, payload: bytes, method: str, path: str) -> ApiError:
    reason, message = "", ""
    try:
        doc = orjson.loads(payload)
        reason, message = str(doc.get("reason", "")), str(doc.get("message", ""))
    except (ValueError, AttributeError):
        message = payload[:300].decode(errors="replace")
    cls = _ERRORS.get(status, ApiError)
    return cls(status, reason or str(status), message[:500], method=method, path=path)


def login() -> kopf.ConnectionInfo | None:
    """The same credentials kopf's built-in login uses without a client library: in-cluster, else kubeconfig."""
    settings = kopf.OperatorSettings()
    return kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
