"""Re-checks of ScrapeFlows and Pipelines, run under their Tenant's daemon.

kopf gives every object that has a daemon a finalizer, so that it can stop the daemon before the object
goes. ScrapeFlows and Pipelines own nothing outside the cluster (their children go with them by owner
reference), and a finalizer would leave them undeletable while no operator runs. So they get no daemon:
a watch-only handler keeps the :class:`FollowedDirectory` current, and the daemon of the namespace's
Tenant (which has a finalizer anyway, for its registry row and database) runs their re-check loops. They
stop with it: on the tenant's deletion, a peering pause and shutdown, as kopf's own daemons would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from barista_core.naming import tenant_namespace
from barista_operator.api import KINDS
from barista_operator.handlers.common import recheck, runtime

log = logging.getLogger("barista_operator.recheck")
_KIND = {kind.kind: kind for kind in KINDS}
#: How long stopping loops may take to finish what they are doing (kopf's daemons had the same).
STOP_SECONDS = 5.0


class StopFlag:
    """What kopf's daemon ``stopped`` flag offers a re-check loop: truthiness and ``wait()``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


async def follow_namespace(tenant: str, memo: Any, stopped: Any) -> None:
    """Run one re-check loop per ScrapeFlow and Pipeline in ``tenant``'s namespace until ``stopped``."""
    rt = runtime(memo)
    namespace = tenant_namespace(tenant)
    changed = asyncio.Event()
    loops: dict[tuple[str, str], tuple[StopFlag, asyncio.Task[None]]] = {}
    #: loops of objects gone, finishing their current step (held so they are not garbage-collected)
    ending: set[asyncio.Task[None]] = set()
    stop = asyncio.ensure_future(stopped.wait())
    try:
        with rt.followed.subscribed(namespace, changed), rt.wakes_on_close(changed):
            while not stopped and not rt.closed:
                current = rt.followed.in_namespace(namespace)
                for key in list(loops):
                    if key not in current:
                        flag, task = loops.pop(key)
                        flag.set()
                        ending.add(task)
                        task.add_done_callback(ending.discard)
                for key, followed in current.items():
                    if key not in loops or loops[key][1].done():
                        flag = StopFlag()
                        kind = _KIND[followed.kind]
                        task = asyncio.create_task(recheck(kind, followed.body, followed.memo, log, flag))
                        loops[key] = (flag, task)
                woke = asyncio.ensure_future(changed.wait())
                await asyncio.wait({woke, stop}, return_when=asyncio.FIRST_COMPLETED)
                woke.cancel()
                changed.clear()
    finally:
        stop.cancel()
        for flag, _ in loops.values():
            flag.set()
        tasks = [task for _, task in loops.values()] + list(ending)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)
