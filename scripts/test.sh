#!/usr/bin/env bash
# The README's test command: installs what a fresh Debian/Ubuntu machine lacks, then checks
# formatting, lints (clippy -D warnings on the whole workspace) and runs every test: the Rust
# workspace's, then the Python package's (scripts/test_python.sh: venv, `pip install .`, pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# No incremental state: a one-off build gains nothing from it, and it doubles target/'s size.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo fmt --all -- --check
python3 scripts/check_module_cycles.py
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# target/ size and free disk, for when a machine runs short of space.
du -sh target 2>/dev/null || true; df -h . | tail -1
bash scripts/test_python.sh
