"""Bring children to their desired state: create missing, patch drifted, delete those no longer desired."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from barista_operator import labels as L
from barista_operator.kube import Conflict, KubeClient, ResourceType, describe, ref
from barista_operator.reconcile.diff import drift_patch, owned_by

Action = Literal["created", "patched", "unchanged"]


class ChildConflict(Exception):
    """A child's name is taken by an object this operator did not make for this owner."""


@dataclass(frozen=True, slots=True)
class Applied:
    obj: dict[str, Any]
    action: Action


async def apply(
    client: KubeClient,
    desired: Mapping[str, Any],
    *,
    create_first: bool,
    create_only: Collection[str] = (),
    live: dict[str, Any] | None = None,
) -> Applied:
    """Make one child match ``desired``.

    ``create_first``: try POST first (a new owner: children are most likely missing); a 409 is success
    and continues as a read-compare-patch. Otherwise read first and create only on 404. ``live``: the
    object as just read by the caller (skips the read).
    """
    rt, namespace, name = ref(desired)
    if live is not None:
        pass
    elif create_first:
        try:
            return Applied(await client.create(desired), "created")
        except Conflict:
            live = await client.get(rt, namespace, name)
    else:
        live = await client.get(rt, namespace, name)
    if live is None:  # absent (or deleted between our calls)
        try:
            return Applied(await client.create(desired), "created")
        except Conflict:
            live = await client.get(rt, namespace, name)
            if live is None:
                raise
    if not owned_by(live, desired):
        raise ChildConflict(f"{describe(desired)} exists but was not made by Barista for this resource")
    patch = drift_patch(desired, live, create_only=create_only)
    if patch is None:
        return Applied(live, "unchanged")
    patched = await client.patch(rt, namespace, name, patch)
    if patched is None:  # deleted under our feet: create it
        return Applied(await client.create(desired), "created")
    return Applied(patched, "patched")


async def apply_all(
    client: KubeClient,
    desired: Sequence[Mapping[str, Any]],
    *,
    create_first: bool,
    create_only: Callable[[Mapping[str, Any]], Collection[str]] = lambda _: (),
) -> list[Applied]:
    """Apply ``desired`` concurrently (order of results = order of ``desired``); the first error wins."""
    return list(
        await asyncio.gather(
            *(apply(client, d, create_first=create_first, create_only=create_only(d)) for d in desired)
        )
    )


async def prune(
    client: KubeClient,
    *,
    types: Iterable[ResourceType],
    namespace: str | None,
    owner_kind: str,
    owner_name: str,
    desired: Iterable[Mapping[str, Any]],
) -> list[str]:
    """Delete children of ``owner`` (by labels) of the given types that are not in ``desired``."""
    keep = {(d["kind"], d["metadata"]["name"]) for d in desired}
    deleted: list[str] = []
    for rt in types:
        for obj in await client.list(rt, namespace, L.owner_selector(owner_kind, owner_name)):
            if (rt.kind, obj["metadata"]["name"]) not in keep and await client.delete(
                rt, obj["metadata"].get("namespace"), obj["metadata"]["name"]
            ):
                deleted.append(describe(obj))
    return deleted
