#!/usr/bin/env bash
# Starts the pixcdn demo: the whole CDN (router, two POPs of two nodes, a parent, the control
# plane) in front of a bundled sample site, the router on http://127.0.0.1:8080/.
# Installs what is missing first (a Go toolchain, libvips). Extra arguments go to "pixcdn demo"
# (e.g. -single for one edge alone, -single -listen :8080 to accept other machines).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_go
ensure_vips
say "building bin/pixcdn"
go build -o bin/pixcdn ./cmd/pixcdn
exec bin/pixcdn demo "$@"
