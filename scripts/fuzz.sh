#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (pth, pickle, safetensors, journal, sequence_pattern, segment), each
# for SECONDS (default 180), starting from the committed seeds in fuzz/corpus/<target>/. New
# corpus entries go to a scratch dir (not the committed corpus); crashes land in
# fuzz/artifacts/<target>/ (ignored by git).
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain or RUSTC_BOOTSTRAP=1.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-180}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(pth pickle safetensors journal sequence_pattern segment)

# Use nightly if rustup has it, else unlock nightly flags on stable.
toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"
# ASan off: the parsers are safe Rust; debug assertions (-a) catch overflow.
cargo "${toolchain[@]}" fuzz build -s none -a

for target in "${targets[@]}"; do
    scratch="$(mktemp -d "${TMPDIR:-/tmp}/upframe-fuzz-$target.XXXXXX")"
    echo "== $target: ${seconds}s (scratch corpus $scratch)"
    # -rss_limit_mb bounds hostile allocations; -timeout flags hangs (>10 s per input).
    cargo "${toolchain[@]}" fuzz run -s none -a "$target" "$scratch" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        -print_final_stats=1
    rm -rf "$scratch"
done
