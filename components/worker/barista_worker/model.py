"""The worker's typed values: what a flow asks to fetch, what it makes of an answer, how a target ended.

No I/O here. A *flow* (one per source, :mod:`barista_worker.sources`) turns a target into
:class:`FetchRequest` s and each JSON answer into :class:`Parsed` — snapshots to emit plus the
follow-up requests (the next page, the videos of a playlist page). The pool runs the requests.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from barista_core.errors import BaristaError

SnapshotType = Literal["profile.snapshot", "post.snapshot", "product.snapshot", "follower.snapshot"]
Method = Literal["GET", "POST"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchRequest:
    """One HTTP request of a flow. ``step`` tells the flow's parser what the answer is; ``state`` carries
    what earlier answers found out (a user id, a channel handle) to the parser of this one."""

    url: str
    method: Method = "GET"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    step: str = "main"
    page: int = 1
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One observation to publish. ``key`` identifies the observed thing within the flow (``natgeo``,
    ``natgeo/C1x2``): with the run it makes the event id, so a re-sent snapshot is deduplicated."""

    type: SnapshotType
    key: str
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Parsed:
    snapshots: Sequence[Snapshot] = ()
    follow: Sequence[FetchRequest] = ()


class Flow(Protocol):
    """What a source is: requests for a target, and snapshots (and follow-ups) from each answer."""

    source: str

    def start(self, target: str) -> Sequence[FetchRequest]: ...

    def parse(self, target: str, request: FetchRequest, body: Any) -> Parsed: ...

    def limiter_scope(self) -> str:
        """The upstream this flow talks to (``instagram``, ``youtube``, a host): the rate limit's
        ``source`` scope shares one bucket among the tenant's flows hitting it."""
        ...


class Outcome(enum.StrEnum):
    """How one HTTP attempt ended (the ``outcome`` label of the request counter)."""

    OK = "ok"
    CLIENT_ERROR = "client_error"  # 4xx other than 429: not retried
    RATE_LIMITED = "rate_limited"  # 429: retried after Retry-After
    SERVER_ERROR = "server_error"  # 5xx: retried
    TIMEOUT = "timeout"  # retried
    NETWORK_ERROR = "network_error"  # connection refused/reset: retried
    BAD_BODY = "bad_body"  # 2xx that is not JSON: not retried


class TargetFailed(BaristaError):
    """A target could not be scraped; ``reason`` is a short machine-readable code (``http_404``,
    ``retries_exhausted``, ``parse_error``, ``publish_unavailable``, ``rejected``)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class ParseError(TargetFailed):
    """The answer does not have the shape the flow expects (the upstream changed, or it is not found)."""

    def __init__(self, detail: str, *, reason: str = "parse_error") -> None:
        super().__init__(reason, detail)


class Interrupted(Exception):
    """The worker is stopping: the target is left for the next run (neither succeeded nor failed)."""


@dataclass(slots=True)
class RunResult:
    """One replica's share of a run."""

    run_id: str
    started_at: float
    finished_at: float = 0.0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another replica, or left because the worker stopped
    snapshots: int = 0
    requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # reason -> targets
    interrupted: bool = False  # the worker stopped, or the run was aborted
    aborted: str = ""  # why the run was given up (Redis unreachable), if it was

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)
