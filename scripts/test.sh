#!/usr/bin/env bash
# Runs the whole pixcdn test suite: vet, then every package's tests with the race detector
# (fuzz targets run their seed corpora). Installs what is missing first: a Go toolchain, a C
# compiler and libvips (cgo: race detector, image pipeline), the pinned S3 server the origin
# tests start, dig for the router's DNS tests and chromium for the dashboard's. The edge's
# tests run twice more: with server.event_loops off (a goroutine per connection alone), and
# with every request on a connection of its own, so that every hit they make is answered by
# an event loop (otherwise a connection that carried a miss stays on its goroutine).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_go
ensure_vips
ensure_versitygw
ensure_dig
ensure_chromium
export PATH="$(go env GOPATH)/bin:$PATH"
say "go vet"
go vet ./...
say "go test -race"
go test -race -count=1 -timeout 15m "$@" ./...
say "go test -race ./internal/edge: event loops off, then every hit on a loop"
PIXCDN_TEST_EVENT_LOOPS=off go test -race -count=1 -timeout 10m "$@" ./internal/edge
PIXCDN_TEST_EVENT_LOOPS=2 go test -race -count=1 -timeout 10m "$@" ./internal/edge
