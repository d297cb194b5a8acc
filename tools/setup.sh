#!/usr/bin/env bash
# Installs everything gemma4 needs to build and test on Debian 12 (run as root or with sudo).
set -euo pipefail
PACKAGES=(build-essential cmake ninja-build pkg-config clang
  nlohmann-json3-dev libcpp-httplib-dev libstb-dev libsndfile1-dev libsoxr-dev libwebp-dev
  libcurl4-openssl-dev libssl-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# node + npm build the offline test tokenizer; any install that provides the commands will do.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
