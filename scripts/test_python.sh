#!/usr/bin/env bash
# The Python package's tests (run by scripts/test.sh after the Rust ones): creates a venv
# (.venv, or $UPFRAME_VENV) with maturin, pytest and numpy, builds and installs the package
# with `pip install .` exactly as a user would (profile dev, which shares its optimised build
# with `cargo test`; users get the default release profile), then runs pytest on tests/python.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
venv="${UPFRAME_VENV:-.venv}"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# maturin's build backend runs the `maturin` on PATH: the venv's.
export PATH="$venv/bin:$PATH"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" "maturin>=1.5,<2" "pytest>=7" "numpy>=1.21"
# The optional extra `ray` (upframe.distributed and its tests, which start a local cluster).
"${pip[@]}" "ray[default]>=2.9"
# --no-build-isolation: build with the venv's maturin instead of fetching another copy.
MATURIN_PEP517_ARGS="--profile ${UPFRAME_PY_PROFILE:-dev}" \
  "${pip[@]}" --no-build-isolation --force-reinstall --no-deps .
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
