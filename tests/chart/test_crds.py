"""The chart carries the CRDs of crds/ unchanged, kept so by scripts/gen_crds.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOP = ROOT / "crds"
IN_CHART = ROOT / "charts" / "barista" / "crds"


def test_chart_crds_are_identical_to_crds_dir() -> None:
    top = {p.name: p.read_bytes() for p in TOP.glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in IN_CHART.glob("*.yaml")}
    assert top, "crds/ is empty"
    assert sorted(chart) == sorted(top), "the chart's crds/ holds other files than crds/"
    different = [name for name in top if chart[name] != top[name]]
    assert not different, f"differ from crds/: {different}; run `uv run python scripts/gen_crds.py`"
    assert not [p for p in IN_CHART.iterdir() if p.suffix != ".yaml"], "Helm installs every file in crds/"


def test_gen_crds_writes_the_chart_copy() -> None:
    spec = importlib.util.spec_from_file_location("gen_crds", ROOT / "scripts" / "gen_crds.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert IN_CHART.resolve() in [Path(t).resolve() for t in module.TARGETS]
    # and what it would write now is what both directories hold
    for name, text in module.rendered().items():
        assert (IN_CHART / name).read_text() == text, f"{name} is stale"


def test_install_includes_every_crd_once(chart) -> None:
    crds = chart.find(chart.render_chart(include_crds=True), "CustomResourceDefinition")
    names = [c["metadata"]["name"] for c in crds]
    expected = {yaml.safe_load(p.read_text())["metadata"]["name"] for p in TOP.glob("*.yaml")}
    assert expected <= set(names) and len(names) == len(set(names))
    assert set(names) - expected == {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}


def test_crds_cover_the_operator_kinds(chart) -> None:
    from barista_operator.api import GROUP, KINDS

    crds = {
        c["metadata"]["name"]: c for c in chart.find(chart.render_chart(include_crds=True), "CustomResourceDefinition")
    }
    for kind in KINDS:
        crd = crds[f"{kind.plural}.{GROUP}"]
        assert crd["spec"]["names"]["kind"] == kind.kind
