#!/usr/bin/env bash
# Installs Node 22 and 24 from the npm registry (package node-linux-<arch>) under .cache/node-versions/<major>/,
# for the cross-version reproducibility test. Idempotent; prints where each binary is.
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "no Node builds for $(uname -m); skipping"; exit 0 ;; esac
for major in 22 24; do
  dir=".cache/node-versions/$major"
  bin="$dir/node_modules/node-linux-$arch/bin/node"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dir"
    npm install --no-audit --no-fund --no-save --prefix "$dir" "node-linux-$arch@$major" >/dev/null
  fi
  echo "node $major: $bin ($("$bin" --version))"
done
