#!/usr/bin/env bash
# Creates scripts/torch_ref/.venv: PyTorch from PyPI (CPU use only) + numpy + safetensors for the
# reference harness. Idempotent: returns in a few seconds when the venv already works.
#
# PyPI's Linux torch wheel is a CUDA build whose libtorch_cpu.so itself links libcudart/libcupti,
# so `pip install torch --no-deps` does not import. The lightest working install found is torch
# --no-deps plus only the nvidia-*/cuda-toolkit runtime libraries it links (about 3 GB instead of
# the full resolution), skipping triton and cuda-bindings, which CPU inference and torch.compile's
# CPU (C++/OpenMP) backend never import.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${UPFRAME_TORCH_VENV:-$here/.venv}"
torch_version="${UPFRAME_TORCH_VERSION:-2.15.0}"
python="${PYTHON:-python3}"

works() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$torch_version" >/dev/null 2>&1 <<'PY'
import sys
import numpy, safetensors, torch
assert torch.__version__.split("+")[0] == sys.argv[1]
torch.nn.functional.conv2d(torch.rand(1, 3, 8, 8), torch.rand(4, 3, 3, 3))
PY
}

if works; then
  exit 0
fi

echo "installing torch $torch_version (CPU use) into $venv ..." >&2
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --no-deps "torch==$torch_version"
# The installed wheel's own requirements, minus the ones CPU use does not need; markers dropped
# because this script runs on Linux only.
mapfile -t reqs < <("$venv/bin/python" - <<'PY'
from importlib.metadata import requires
for req in requires("torch") or []:
    spec, _, marker = req.partition(";")
    spec = spec.strip()
    if "extra ==" in marker:
        continue
    name = spec.split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("~")[0].strip().lower()
    if name in ("triton", "cuda-bindings"):
        continue
    print(spec)
PY
)
"${pip[@]}" "${reqs[@]}" numpy safetensors mpmath MarkupSafe 2>&1 | grep -v "dependency resolver\|requires triton\|requires cuda-bindings" || true
if ! works; then
  echo "torch installed into $venv but does not import or run a conv" >&2
  exit 1
fi
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "ready", file=__import__("sys").stderr)'
