"""A sinker killed after its ClickHouse insert and before its ack: the broker redelivers, and the
next sinker leaves no visible duplicate (not even without FINAL)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from barista_core.events import declare_sink_topology, sink_topology
from tests.ingest.conftest import World, event

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
SCRIPT = Path(__file__).with_name("sinker_process.py")
ROOT = Path(__file__).resolve().parents[2]


async def _run(settings_json: str, mode: str, expected: int) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), settings_json, mode, str(expected),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    if process.returncode not in (0, -9):
        raise AssertionError(f"sinker process failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return process.returncode, stdout.decode()


async def test_kill_between_insert_and_ack_leaves_no_duplicate(world: World, tmp_path: Path) -> None:
    tenant = await world.tenant()
    topology = sink_topology(tenant.name, "main")
    await declare_sink_topology(world.broker, topology)
    world.queues.update((topology.queue.name, topology.dead_letter_queue.name))
    first = [[event(properties={"path": f"/{b}/{i}"}) for i in range(100)] for b in range(3)]
    for batch in first:
        assert (await world.publish(tenant, batch)).accepted == 100

    settings = world.sinker_settings(
        tenant, clickhouse_url=f"chdb://{tmp_path / 'ch'}", batch_max_events=1000, batch_max_delay_ms=300
    )
    settings_json = json.dumps({**settings.model_dump(mode="json"), "broker_url": world.amqp_url,
                                "clickhouse_url": f"chdb://{tmp_path / 'ch'}"})  # fmt: skip

    code, out = await _run(settings_json, "crash", 300)
    assert code == -9, out
    assert "written 300 redelivered=False" in out  # the insert happened; the ack never did

    later = [event(properties={"path": f"/later/{i}"}) for i in range(50)]
    assert (await world.publish(tenant, later)).accepted == 50
    code, out = await _run(settings_json, "drain", 350)
    counts = json.loads(out.strip().splitlines()[-1])
    assert code == 0
    # 350 rows even without FINAL, and the 300 redelivered events were recognised as already written
    assert counts == {"rows": 350, "unique": 350, "final": 350, "skipped": 300}
    assert await world.broker.queue_depth(topology.queue.name) == 0
