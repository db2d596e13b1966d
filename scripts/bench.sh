#!/usr/bin/env bash
# The benchmark command: builds upframe (release), installs the PyTorch reference harness once
# (scripts/torch_ref/.venv), then prints ms per forward for upframe and PyTorch on the same
# shapes and weights, and their ratio. Extra arguments go to `upframe bench`
# (e.g. --runs 10, --cases rife_640x960, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p upframe-cli
bash scripts/torch_ref/install.sh
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/upframe" bench --torch "$@"
