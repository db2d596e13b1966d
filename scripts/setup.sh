#!/usr/bin/env bash
# Installs the system packages upframe builds against (FFmpeg dev libraries, clang for bindgen).
set -euo pipefail
pkgs="pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev ffmpeg"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  else
    echo "upframe needs these packages; run:  sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi
