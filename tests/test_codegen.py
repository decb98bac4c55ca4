from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_proto_code_is_up_to_date():
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_generated_code_imports_from_core():
    from barista_core.proto import events_pb2, events_pb2_grpc

    assert events_pb2.DESCRIPTOR.package == "barista.events.v1"
    assert hasattr(events_pb2_grpc, "EventServiceStub")
