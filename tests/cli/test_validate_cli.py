from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BARISTA = [sys.executable, "-m", "barista.cli"]


def barista(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BARISTA, *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120)


def test_examples_directory_is_valid():
    result = barista("validate", "-f", "examples")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("7 documents checked, 0 invalid")


def test_errors_name_file_document_field_and_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    sink = "---\napiVersion: barista.dev/v1alpha1\nkind: Sink\nmetadata: {{name: {name}, namespace: tenant-acme}}\n"
    bad.write_text(
        (ROOT / "examples" / "tenant-acme.yaml").read_text()
        + sink.format(name="s")
        + 'spec: {eventTypes: ["order.*"]}\n'
        + sink.format(name="t")
        + "spec: {clickhouse: {}, replicas: 99}\n"
    )
    result = barista("validate", "-f", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert f"{bad}: document 2 (Sink tenant-acme/s): spec: exactly one of clickhouse or webhook must be set" in lines
    assert f"{bad}: document 3 (Sink tenant-acme/t): spec.replicas: must be at most 50 (got 99)" in lines
    assert "3 documents checked, 2 invalid" in result.stdout


def test_unparseable_yaml_keeps_the_documents_before_it(tmp_path):
    text = (ROOT / "examples" / "tenant-acme.yaml").read_text() + "---\nspec: [unclosed\n"
    result = barista("validate", "-f", "-", stdin=text)
    assert result.returncode == 1
    assert "<stdin>: document 2: not valid YAML" in result.stderr
    assert "<stdin>: document 1 (Tenant acme): valid" in result.stdout


def test_missing_file_is_one_clear_line():
    result = barista("validate", "-f", "no/such/file.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no/such/file.yaml: no such file or directory"


def test_quiet_prints_errors_only(tmp_path):
    result = barista("validate", "-q", "-f", "examples")
    assert result.returncode == 0 and result.stdout == ""


def test_version():
    result = barista("version")
    assert result.returncode == 0
    assert "API barista.dev/v1alpha1" in result.stdout
