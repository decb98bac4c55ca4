"""Every component's Dockerfile follows one pattern: multi-stage, uv from the workspace lock, a final
stage without build tools running as a non-root user, and only files that exist in the build context
(the repository root, filtered by .dockerignore)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted([ROOT / "operator" / "Dockerfile", *ROOT.glob("components/*/Dockerfile")])
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|build-essential|make|clang|cargo|rustc|uv|pip install)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    out: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            out.append(Stage(parts[0], parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None))
        elif out:
            out[-1].instructions.append((keyword, rest.strip()))
        elif keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args[name.strip()] = value.strip()
    return args, out


def component(path: Path) -> tuple[str, str]:
    """(project name, package) of the workspace member a Dockerfile builds."""
    project = tomllib.loads((path.parent / "pyproject.toml").read_text())["project"]["name"]
    return project, project.replace("-", "_")


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    parts = Path(path).parts
    for pattern in dockerignore():
        pattern = pattern.removeprefix("**/")
        for i in range(len(parts)):
            if fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) or fnmatch.fnmatch(parts[i], pattern):
                return True
    return False


@pytest.fixture(params=DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def dockerfile(request) -> Path:
    return request.param


def test_every_image_component_has_a_dockerfile() -> None:
    values = yaml.safe_load((ROOT / "charts" / "barista" / "values.yaml").read_text())
    barista_images = [v["image"]["repository"] for v in values.values() if isinstance(v, dict) and "image" in v]
    barista_images = [r.removeprefix("barista/") for r in barista_images if r.startswith("barista/")]
    assert sorted(barista_images) == ["gateway", "ingest", "operator", "pipelines", "scoring", "worker"]
    for name in barista_images:
        path = ROOT / "operator" / "Dockerfile" if name == "operator" else ROOT / "components" / name / "Dockerfile"
        assert path in DOCKERFILES, f"no Dockerfile builds barista/{name}"


def test_multi_stage_from_the_lock(dockerfile: Path) -> None:
    _, all_stages = stages(dockerfile)
    assert len(all_stages) >= 2, "multi-stage: build tools stay in an earlier stage"
    project, _ = component(dockerfile)
    syncs = [shlex.split(run) for stage in all_stages[:-1] for run in stage.all("RUN") if "uv sync" in run]
    assert syncs, "dependencies come from `uv sync`"
    for argv in syncs:
        argv = argv[argv.index("uv") :]
        assert {"--frozen", "--no-dev"} <= set(argv), argv
        assert argv[argv.index("--package") + 1] == project, argv
    assert any("--no-editable" in argv for argv in syncs), "install the members as wheels, not links to sources"


def test_final_stage_is_small_and_unprivileged(dockerfile: Path) -> None:
    _, all_stages = stages(dockerfile)
    final = all_stages[-1]
    users = final.all("USER")
    assert users, "the final stage names its user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: numeric and not root (runAsNonRoot checks a number)"
    for run in final.all("RUN"):
        assert not BUILD_TOOLS.search(run), f"build tooling in the final stage: {run}"
    copies = " ".join(final.all("COPY"))
    assert "--from=uv" not in copies and "/uv " not in copies, "uv stays in the build stage"
    assert re.search(r"--from=build\b.*?/app/\.venv", copies), "the final stage takes the built environment"


def test_base_images_are_pinned(dockerfile: Path) -> None:
    args, all_stages = stages(dockerfile)
    names = {s.name for s in all_stages}
    for stage in all_stages:
        if stage.base in names:
            continue
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], stage.base)
        assert re.search(r":[\w.-]*\d[\w.-]*$", base), f"{base}: pin a version"


def test_copies_only_what_the_context_holds(dockerfile: Path) -> None:
    _, all_stages = stages(dockerfile)
    for stage in all_stages:
        for copy in stage.all("COPY"):
            words = [w for w in shlex.split(copy) if not w.startswith("--")]
            if "--from=" in copy:
                continue
            for source in words[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not ignored(source), f"COPY {source}: excluded by .dockerignore"
        for run in stage.all("RUN"):
            for source in re.findall(r"--mount=type=bind,source=([^,\s]+)", run):
                assert (ROOT / source).exists(), source


def test_runs_its_component(dockerfile: Path) -> None:
    _, all_stages = stages(dockerfile)
    final = all_stages[-1]
    _, package = component(dockerfile)
    assert (dockerfile.parent / package).is_dir()
    copies = " ".join(s for stage in all_stages for s in stage.all("COPY"))
    assert str(dockerfile.parent.relative_to(ROOT)) in copies, "the component's own source goes into the build"
    if package == "barista_pipelines":
        assert final.base.startswith("apache/airflow:"), "Airflow runs from the official image"
        return
    entrypoint = yaml.safe_load(final.all("ENTRYPOINT")[-1])
    assert entrypoint == ["python", "-m", package]


def test_airflow_image_matches_the_lock() -> None:
    args, _ = stages(ROOT / "components" / "pipelines" / "Dockerfile")
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    assert args["AIRFLOW_VERSION"] == locked["apache-airflow"]


def test_exposes_the_ports_the_chart_uses(dockerfile: Path, chart_ports: dict[str, set[int]]) -> None:
    _, all_stages = stages(dockerfile)
    exposed = {int(p.split("/")[0]) for e in all_stages[-1].all("EXPOSE") for p in e.split()}
    name = "operator" if dockerfile.parent.name == "operator" else dockerfile.parent.name
    assert chart_ports.get(name, set()) <= exposed, f"chart uses {chart_ports.get(name)}, image exposes {exposed}"


@pytest.fixture(scope="module")
def chart_ports() -> dict[str, set[int]]:
    """containerPorts the default chart gives each Barista image."""
    rendered = subprocess.run(
        [str(ROOT / ".tools" / "helm"), "template", "barista", str(ROOT / "charts" / "barista")],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    ports: dict[str, set[int]] = {}
    for obj in yaml.safe_load_all(rendered):
        if not obj or obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for c in obj["spec"]["template"]["spec"]["containers"]:
            match = re.search(r"/barista/(\w+)[:@]", c["image"])
            if match:
                ports.setdefault(match.group(1), set()).update(p["containerPort"] for p in c.get("ports", []))
    return ports


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    for heavy in (".git", ".venv", ".tools", "tests", "charts", "components/core/barista_core/__pycache__"):
        assert ignored(heavy), f".dockerignore should exclude {heavy}"
    for needed in (
        "uv.lock",
        "pyproject.toml",
        "components/core",
        "components/gateway/barista_gateway",
        "operator",
        "dbt",
    ):
        assert not ignored(needed), f".dockerignore excludes {needed}, which images are built from"
