#!/usr/bin/env bash
# The README's test command: installs what a fresh Debian/Ubuntu machine lacks, then checks and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
