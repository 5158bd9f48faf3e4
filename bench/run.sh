#!/usr/bin/env bash
# bench/run.sh: the pixcdn edge-core benchmarks described in docs/BENCHMARKS.md.
#
#   bench/run.sh hit      cache-hit throughput, pixcdn vs nginx (proxy_cache), wrk
#   bench/run.sh herd     thundering herd: 200 clients, one cold object, 200 ms origin
#   bench/run.sh rss      peak RSS with a 300 MB working set over a 64 MiB memory tier
#   bench/run.sh rebuild  disk-tier rebuild time for 1M objects (internal/store, slow, optional)
#   bench/run.sh ops      operations: access log cost, purge latency, reload under load (pixcdn only)
#   bench/run.sh access   access control: rules' cost on the hit path, a one-key flood, spoofed keys
#   bench/run.sh images   image pipeline: CPU per image under load vs the libvips CLI, cached variants,
#                         bytes and SSIM of the default formats, RSS during a mixed soak (BENCH_IMG_SOAK)
#   bench/run.sh imgcmp   image CPU per image beside imgproxy, same sources and load (bench/cmd/imgcmp;
#                         IMGPROXY_BIN, default /tmp/imgproxy-ref/imgproxy, built from imgproxy's release tag)
#   bench/run.sh text     text compression: ratio and CPU/MB per coding, br hits vs identity
#   bench/run.sh control  control plane: purges to 5/20/100 edges, the NATS reference, config pushes (go run ./bench/cmd/control)
#   bench/run.sh router   the router: decision time, DNS with dnsperf, HTTP 302 vs nginx, a node's death (go run ./bench/cmd/router)
#   bench/run.sh all      hit, herd, rss and ops (rebuild, access, images and text are not part of all)
#
# This script is a wrapper: the harness is the Go program bench/cmd/bench (one subcommand per
# section; `go run ./bench/cmd/bench -h` lists its flags, one per knob below). Every server
# listens on 127.0.0.1 only, every load is bounded in time, and every process it starts is
# stopped on exit, on an error and on Ctrl-C. Tables go to stdout and to bench/results/STAMP.md;
# raw outputs (wrk, logs, configs) to bench/results/raw/STAMP/ (not committed).
#
# Knobs (environment, or the flag after the section: BENCH_ROUNDS=1 is -rounds 1): BENCH_DURATION (wrk run, 15s), BENCH_ROUNDS (2), BENCH_HERD_ROUNDS (5),
# BENCH_PIXCDN_GOMAXPROCS (cores pixcdn may use; default all), BENCH_HIT_LOOPS_OFF (on: hit also
# measures pixcdn with server.event_loops off),
# BENCH_HERD_CLIENTS (200), BENCH_RSS_DURATION (60s), BENCH_RSS_OBJECTS (3000),
# BENCH_OPS_OBJECTS (objects under the purged prefix in ops, 100000), BENCH_OPS_PURGE_ROUNDS (1),
# BENCH_OPS_RELOAD_ROUNDS (1), BENCH_OPS_PACED_CONNS and BENCH_OPS_PACED_DURATION (paced wrk of
# the log part's CPU per request: connections, 24, and length of each of 2 x BENCH_ROUNDS runs per
# edge, 8s), BENCH_OPS_PARTS (which parts
# of ops run, log,purge,reload: rerun a disturbed one alone),
# BENCH_ACCESS_PARTS (hit,flood,spoof), BENCH_ACCESS_SPOOF_N (requests with distinct keys, 1000000),
# BENCH_ACCESS_SPOOF_KEYS (the rate_limit_keys settings tried, "100000 1000000"),
# BENCH_ACCESS_FLOOD_CONTROL (non-empty: the flood's wrk loads a second edge without rules instead),
# BENCH_ACCESS_FLOOD_RATE (requests/s: the abuser is a paced client at that rate instead of wrk),
# BENCH_NGINX_SENDFILE (on: nginx sends cached bodies with sendfile(2); off: it copies like pixcdn),
# BENCH_IMG_PARTS (cpu,hit,soak,bytes), BENCH_IMG_DURATION (wrk per image case, 20s),
# BENCH_IMG_SOURCES (generated: grainy synthetic sources; demo: the demo site's smoother images),
# BENCH_IMG_HIT_DURATION (10s), BENCH_IMG_SOAK (the mixed soak, 600s), BENCH_IMG_FLOOR_N
# (images per vipsthumbnail process, 60), BENCH_REBUILD_OBJECTS (rebuild: objects instead of 1M),
# PIXCDN_BENCH_BIN (where binaries are built, /tmp/pixcdn-bench), IMGPROXY_BIN (imgcmp's imgproxy),
# BENCH_IMGCMP_ARGS (more flags for bench/cmd/imgcmp: -rounds 3 -d 15s -also before=BINARY).
# control, router and imgcmp pass what follows "--" to bench/cmd/control, bench/cmd/router and
# bench/cmd/imgcmp.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./bench/cmd/bench "$@"
