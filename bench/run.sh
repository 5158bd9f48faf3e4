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
#   bench/run.sh imgcmp   image CPU per image beside imgproxy, same sources and load (go run ./bench/cmd/imgcmp;
#                         IMGPROXY_BIN, default /tmp/imgproxy-ref/imgproxy, built from imgproxy's release tag)
#   bench/run.sh text     text compression: ratio and CPU/MB per coding, br hits vs identity
#   bench/run.sh control  control plane: purges to 5/20/100 edges, the NATS reference, config pushes (go run ./bench/cmd/control)
#   bench/run.sh router   the router: decision time, DNS with dnsperf, HTTP 302 vs nginx, a node's death (go run ./bench/cmd/router)
#   bench/run.sh all      hit, herd, rss and ops (rebuild, access, images and text are not part of all)
#
# Every server listens on 127.0.0.1 only, every load is bounded in time, and every process the
# script starts is stopped by the EXIT trap. Tables go to stdout and to bench/results/STAMP.md;
# raw outputs (wrk, logs, configs) to bench/results/raw/STAMP/ (not committed).
#
# Knobs (environment): BENCH_DURATION (wrk run, 15s), BENCH_ROUNDS (2), BENCH_HERD_ROUNDS (5),
# BENCH_PIXCDN_GOMAXPROCS (cores pixcdn may use; default all),
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
# (images per vipsthumbnail process, 60),
# PIXCDN_BENCH_BIN (where binaries are built, /tmp/pixcdn-bench).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
BIN=${PIXCDN_BENCH_BIN:-/tmp/pixcdn-bench}
DURATION=${BENCH_DURATION:-15s}
ROUNDS=${BENCH_ROUNDS:-2}
HERD_ROUNDS=${BENCH_HERD_ROUNDS:-5}
HERD_CLIENTS=${BENCH_HERD_CLIENTS:-200}
RSS_DURATION=${BENCH_RSS_DURATION:-60s}
RSS_OBJECTS=${BENCH_RSS_OBJECTS:-3000}
NGINX_SENDFILE=${BENCH_NGINX_SENDFILE:-on}
STAMP=$(date -u +%Y%m%d-%H%M%S)
RAW="$BENCH/results/raw/$STAMP"
REPORT="$BENCH/results/$STAMP.md"
WORK=$(mktemp -d /tmp/pixcdn-bench-run.XXXXXX)
PIDS=()
USED_PORTS=" "
PX_NOTE=""

# ---------------------------------------------------------------- processes and cleanup

# stop_pid ends one process we started: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# forget_pid drops a stopped process from PIDS, so its number is never signalled again.
forget_pid() {
	local pid keep=()
	for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
	PIDS=("${keep[@]}")
}

# stop_all stops the servers of one measure before the next starts.
stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
}

die() {
	echo "run.sh: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- tools

# ensure_pkg CMD PKG...: installs the Debian packages when CMD is missing.
ensure_pkg() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] && return 0
	echo "run.sh: $cmd missing, installing $*" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update
	local pkg
	for pkg in "$@"; do
		$sudo apt-get install -y "$pkg" && return 0
	done
	die "could not install $cmd"
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

build() {
	mkdir -p "$BIN" "$RAW"
	(cd "$ROOT" && go build -o "$BIN/pixcdn" ./cmd/pixcdn) || die "pixcdn does not build"
	(cd "$ROOT" && go build -o "$BIN/" ./bench/cmd/benchorigin ./bench/cmd/herd ./bench/cmd/rss ./bench/cmd/ops ./bench/cmd/access \
		./bench/cmd/imgsoak ./bench/cmd/imgssim ./bench/cmd/textratio)
}

# ---------------------------------------------------------------- ports and readiness

# free_port VAR: sets VAR to an unused loopback port that this run has not handed out yet
# (no command substitution, so the list of handed-out ports survives). Ports come from below
# the kernel's ephemeral range, where outgoing connections cannot be holding them.
free_port() {
	local p i low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	for ((i = 0; i < 200; i++)); do
		p=$((10000 + RANDOM % (low - 10000)))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	die "no free port"
}

# wait_http URL: until URL answers 2xx, for at most 10 s.
wait_http() {
	local i
	for ((i = 0; i < 100; i++)); do
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	die "$1 did not come up"
}

# ---------------------------------------------------------------- servers

# start_origin DELAY [FLAG...]: benchorigin on a free port; sets ORIGIN (base URL).
start_origin() {
	local delay=$1
	shift
	rm -f "$WORK/origin.addr"
	"$BIN/benchorigin" -listen 127.0.0.1:0 -addr-file "$WORK/origin.addr" -delay "$delay" "$@" \
		>"$RAW/origin-$MEASURE.log" 2>&1 &
	PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$WORK/origin.addr" ] && break
		sleep 0.1
	done
	[ -s "$WORK/origin.addr" ] || die "benchorigin did not start: $(cat "$RAW/origin-$MEASURE.log")"
	ORIGIN="http://$(cat "$WORK/origin.addr")"
	wait_http "$ORIGIN/__count"
}

# pixcdn_config FILE CACHE_DIR [MEMORY_SIZE]: an edge config for $ORIGIN on $PX_PORT with its admin on
# $PX_ADMIN. The domain is "*" (any Host); while this pixcdn's validation rejects "*", it falls
# back to "127.0.0.1", the Host every client of this script sends, and the report says so.
pixcdn_config() {
	local file=$1 cache=$2 mem=${3:-} name rejected=""
	for name in '*' 127.0.0.1; do
		{
			echo "listen: \"127.0.0.1:$PX_PORT\""
			echo "admin:"
			echo "  listen: \"127.0.0.1:$PX_ADMIN\""
			echo "cache:"
			echo "  dir: \"$cache\""
			[ -n "$mem" ] && echo "  memory_size: $mem"
			echo "domains:"
			echo "  - name: \"$name\""
			echo "    origin:"
			echo "      servers:"
			echo "        - url: \"$ORIGIN\""
		} >"$file"
		if "$BIN/pixcdn" config check "$file" >"$WORK/check.out" 2>&1; then
			cp "$file" "$RAW/pixcdn-$MEASURE.yaml"
			PX_NOTE=""
			[ -z "$rejected" ] || PX_NOTE="Note: \`pixcdn config check\` rejected domain \"*\" (\`$rejected\`); this run used domain \"$name\"."
			return 0
		fi
		rejected=$(head -c 300 "$WORK/check.out" | tr '\n' ' ')
	done
	die "pixcdn rejects the benchmark config: $(cat "$WORK/check.out")"
}

# start_pixcdn CACHE_DIR [MEMORY_SIZE]: "pixcdn edge -config FILE" on free ports.
# Sets PIXCDN (base URL), PIXCDN_PID and PX_ADMIN.
start_pixcdn() {
	free_port PX_PORT
	free_port PX_ADMIN
	pixcdn_config "$WORK/pixcdn-$MEASURE.yaml" "$@"
	# BENCH_PIXCDN_GOMAXPROCS: how many cores the Go runtime may use (default: all).
	GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)} "$BIN/pixcdn" edge -config "$WORK/pixcdn-$MEASURE.yaml" >"$RAW/pixcdn-$MEASURE.log" 2>&1 &
	PIXCDN_PID=$!
	PIDS+=("$PIXCDN_PID")
	PIXCDN="http://127.0.0.1:$PX_PORT"
	wait_http "http://127.0.0.1:$PX_ADMIN/healthz"
}

# start_nginx: nginx as a caching reverse proxy in front of $ORIGIN, run as the current user
# from a generated config in a temp dir. Sets NGINX (base URL).
start_nginx() {
	local dir="$WORK/nginx-$MEASURE" port user_line=""
	free_port port
	mkdir -p "$dir/cache" "$dir/tmp"
	# As root, nginx would hand its workers to "nobody"; keep them as the invoking user.
	[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
	cat >"$dir/nginx.conf" <<-EOF
		worker_processes auto;
		pid $dir/nginx.pid;
		error_log $dir/error.log warn;
		$user_line
		events { worker_connections 4096; }
		http {
		    access_log off;
		    sendfile $NGINX_SENDFILE;
		    # wrk holds its 64 connections for the whole run; without this nginx closes each
		    # after 1000 requests and pays reconnects pixcdn (net/http) does not.
		    keepalive_requests 1000000;
		    client_body_temp_path $dir/tmp/body;
		    proxy_temp_path $dir/tmp/proxy;
		    fastcgi_temp_path $dir/tmp/fastcgi;
		    uwsgi_temp_path $dir/tmp/uwsgi;
		    scgi_temp_path $dir/tmp/scgi;
		    proxy_cache_path $dir/cache levels=1:2 keys_zone=bench:32m max_size=2g inactive=1h use_temp_path=off;
		    upstream origin {
		        server ${ORIGIN#http://};
		        keepalive 64;
		    }
		    server {
		        listen 127.0.0.1:$port;
		        location = /__nginx_ok { return 200 "ok\n"; }
		        location / {
		            proxy_pass http://origin;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		            proxy_cache bench;
		            proxy_cache_lock on;
		            proxy_cache_valid 200 10m;
		            add_header X-Cache-Status \$upstream_cache_status always;
		        }
		    }
		}
	EOF
	cp "$dir/nginx.conf" "$RAW/nginx-$MEASURE.conf"
	"$(nginx_bin)" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$RAW/nginx-$MEASURE.log" 2>&1 &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	NGINX="http://127.0.0.1:$port"
	wait_http "$NGINX/__nginx_ok"
}

origin_count() { curl -fsS --max-time 5 "$ORIGIN/__count?path=$1"; }

# ---------------------------------------------------------------- reporting

# out: markdown to stdout and to the report file.
out() { tee -a "$REPORT"; }

machine_line() {
	local model
	model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	echo "Machine: $(nproc) CPUs, $model; $(go version | cut -d' ' -f3-); $("$(nginx_bin)" -v 2>&1 | sed 's/^nginx version: //'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); pixcdn $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (working tree)."
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# median: of the numbers on stdin (mean of the two middle ones for an even count).
median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------- 1. cache-hit throughput

# check_hit NAME URL: the warmed response must be a cache hit.
check_hit() {
	local name=$1 url=$2 hdr
	curl -fsS -o /dev/null --max-time 10 "$url"
	curl -fsS -o /dev/null --max-time 10 "$url"
	hdr=$(curl -fsS -D - -o /dev/null --max-time 10 "$url" | tr -d '\r')
	echo "$hdr" >"$RAW/warm-$name-$(basename "$url").headers"
	case $name in
	pixcdn) grep -qiE '^cache-status:.*;[[:space:]]*hit([;,[:space:]]|$)' <<<"$hdr" ||
		die "pixcdn: warmed $url is not a hit: $(grep -i '^cache-status' <<<"$hdr")" ;;
	nginx) grep -qiE '^x-cache-status:[[:space:]]*HIT' <<<"$hdr" ||
		die "nginx: warmed $url is not a hit: $(grep -i '^x-cache-status' <<<"$hdr")" ;;
	esac
	echo "- $name $url warmed: \`$(grep -iE '^(x-)?cache-status' <<<"$hdr")\`"
}

# cpu_jiffies: busy and total CPU time of the machine (all CPUs), in clock ticks.
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4 + $7 + $8 + $9, t }' /proc/stat; }

# proc_jiffies PID...: user+system CPU ticks of those processes (all their threads).
proc_jiffies() {
	local pid t=0 v
	for pid; do
		v=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) && t=$((t + v))
	done
	echo "$t"
}

# server_pids NAME: the processes serving the measured requests.
server_pids() {
	case $1 in
	pixcdn*) echo "$PIXCDN_PID" ;;
	nginx) echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true) ;;
	esac
}

# wrk_round OBJ NAME BASE ROUND: one wrk run; appends a TSV line to $WORK/hit.tsv. Besides wrk's
# numbers it records how much CPU went to neither wrk nor the server ("other" %, of both CPUs):
# the disturbance from whatever else ran on the machine meanwhile.
wrk_round() {
	local obj=$1 name=$2 base=$3 round=$4 raw before after res pids b0 t0 b1 t1 s0 s1 wrk_s other
	raw="$RAW/wrk-$obj-$name-$round.txt"
	pids=$(server_pids "$name")
	local opath=${ORIGIN_PATH-/obj/$obj} # "" counts every origin request
	before=$(origin_count "$opath")
	read -r b0 t0 < <(cpu_jiffies)
	s0=$(proc_jiffies $pids)
	local TIMEFORMAT='%U %S'
	{ time timeout 120 wrk -t2 -c64 -d"$DURATION" --latency -s "$BENCH/wrk/${WRK_SCRIPT:-report.lua}" "$base/obj/$obj" >"$raw" 2>&1; } 2>"$WORK/wrk.time" ||
		die "wrk failed: $(cat "$raw")"
	s1=$(proc_jiffies $pids)
	read -r b1 t1 < <(cpu_jiffies)
	after=$(origin_count "$opath")
	wrk_s=$(awk '{ print $1 + $2 }' "$WORK/wrk.time")
	other=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v s=$((s1 - s0)) -v w="$wrk_s" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { o = (b - s - w * hz) / t * 100; printf "%.0f", (o < 0 ? 0 : o) }')
	res=$(grep '^RESULT ' "$raw") || die "no RESULT line in $raw"
	# RESULT requests=.. duration_us=.. rps=.. p50_us=.. p99_us=.. max_us=.. errors=.. status_errors=.. bytes=..
	eval "local ${res#RESULT }"
	local cpu_us
	cpu_us=$(awk -v s=$((s1 - s0)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", s / hz * 1e6 / n }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$obj" "$name" "$round" "$rps" "$p50_us" "$p99_us" \
		"$errors" "$status_errors" "$((after - before))" "$other" "$cpu_us" >>"$WORK/${HIT_TSV:-hit.tsv}"
	echo "  $obj $name round $round: $rps req/s, p50 ${p50_us}us, p99 ${p99_us}us, errors $errors/$status_errors, origin +$((after - before)), other CPU ${other}%, server ${cpu_us} CPU-us/req" >&2
}

# col FILE OBJ NAME FIELD: the values of one column for one object and server.
col() { awk -F'\t' -v o="$2" -v n="$3" -v f="$4" '$1 == o && $2 == n { print $f }' "$1"; }

hit_tables() {
	local tsv=$WORK/hit.tsv obj px ng pxp50 pxp99 ngp50 ngp99 ratio goal ratio_ok p99_ok
	echo "| object | server | round | req/s | p50 ms | p99 ms | socket errors | non-2xx | origin requests during run | server CPU µs/req | other CPU % |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 / 1000, $6 / 1000, $7, $8, $9, $11, $10 }' "$tsv"
	echo
	echo "\"server CPU µs/req\": user+system CPU of the server processes during the run divided by the requests wrk completed."
	echo "\"other CPU %\": share of both CPUs busy outside wrk and the measured server during the run (other engineers' builds and tests); near 0 means an undisturbed run."
	echo
	echo "Median of $ROUNDS rounds (median of each column; with 2 rounds, their mean):"
	echo
	echo "| object | pixcdn req/s | nginx req/s | ratio | pixcdn p50 / p99 ms | nginx p50 / p99 ms | target | ratio met | p99 ≤ nginx |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for obj in 1k 20k; do
		px=$(col "$tsv" $obj pixcdn 4 | median)
		ng=$(col "$tsv" $obj nginx 4 | median)
		pxp50=$(col "$tsv" $obj pixcdn 5 | median)
		pxp99=$(col "$tsv" $obj pixcdn 6 | median)
		ngp50=$(col "$tsv" $obj nginx 5 | median)
		ngp99=$(col "$tsv" $obj nginx 6 | median)
		goal=1.0
		[ $obj = 1k ] && goal=1.2
		ratio=$(awk -v a="$px" -v b="$ng" 'BEGIN { printf "%.2f", a / b }')
		ratio_ok=$(awk -v r="$ratio" -v g=$goal 'BEGIN { print (r >= g ? "yes" : "**no**") }')
		p99_ok=$(awk -v a="$pxp99" -v b="$ngp99" 'BEGIN { print (a <= b ? "yes" : "**no**") }')
		awk -v o=$obj -v px="$px" -v ng="$ng" -v r="$ratio" -v a="$pxp50" -v b="$pxp99" -v c="$ngp50" -v d="$ngp99" \
			-v g="≥ ${goal}x" -v ok="$ratio_ok" -v p="$p99_ok" \
			'BEGIN { printf "| %s | %.0f | %.0f | %sx | %.3f / %.3f | %.3f / %.3f | %s | %s | %s |\n", o, px, ng, r, a / 1000, b / 1000, c / 1000, d / 1000, g, ok, p }'
	done
}

alloc_bench() {
	if ! grep -qsE 'func Benchmark[A-Za-z0-9_]*Hit' "$ROOT"/internal/edge/*_test.go; then
		echo "No \`Benchmark*Hit*\` in internal/edge yet: hit-path allocations not measured."
		return 0
	fi
	echo "\`go test -run '^\$' -bench 'Hit' -benchmem ./internal/edge/\`:"
	echo
	echo '```'
	(cd "$ROOT" && timeout 300 go test -run '^$' -bench 'Hit' -benchmem ./internal/edge/ 2>&1) |
		tee "$RAW/edge-hit-bench.txt" | grep -E '^(Benchmark|ok|FAIL|PASS|goos|cpu)' || true
	echo '```'
}

cmd_hit() {
	MEASURE=hit
	: >"$WORK/hit.tsv"
	start_origin 0s
	start_pixcdn "$WORK/pixcdn-hit-cache"
	start_nginx
	{
		echo "## 1. Cache-hit throughput"
		echo
		[ -z "$PX_NOTE" ] || printf '%s\n\n' "$PX_NOTE"
		echo "wrk -t2 -c64 -d$DURATION --latency, $ROUNDS rounds, pixcdn (GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)}) and nginx (worker_processes auto, sendfile $NGINX_SENDFILE) alternating; load average before: $(loadavg)."
		echo
		local obj r
		for obj in 1k 20k; do
			check_hit pixcdn "$PIXCDN/obj/$obj"
			check_hit nginx "$NGINX/obj/$obj"
		done
	} | out
	for obj in 1k 20k; do
		for ((r = 1; r <= ROUNDS; r++)); do
			wrk_round $obj pixcdn "$PIXCDN" $r
			wrk_round $obj nginx "$NGINX" $r
		done
	done
	# The same objects at a bounded rate: each connection pauses 1 ms after every response.
	: >"$WORK/paced.tsv"
	for obj in 1k 20k; do
		WRK_SCRIPT=paced.lua HIT_TSV=paced.tsv wrk_round $obj pixcdn "$PIXCDN" paced
		WRK_SCRIPT=paced.lua HIT_TSV=paced.tsv wrk_round $obj nginx "$NGINX" paced
	done
	curl -fsS --max-time 5 "http://127.0.0.1:$PX_ADMIN/stats" >"$RAW/pixcdn-hit-stats.json" || true
	{
		echo
		hit_tables
		echo
		echo "Latency at a bounded rate (same wrk, bench/wrk/paced.lua: every connection pauses 1 ms after each response, so neither server saturates the cores it shares with wrk):"
		echo
		echo "| object | server | req/s | p50 ms | p99 ms | other CPU % |"
		echo "|---|---|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | %s | %.0f | %.3f | %.3f | %s |\n", $1, $2, $4, $5 / 1000, $6 / 1000, $10 }' "$WORK/paced.tsv"
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
	alloc_bench | out
	echo | out
}

# ---------------------------------------------------------------- 2. thundering herd

cmd_herd() {
	MEASURE=herd
	start_origin 200ms
	start_pixcdn "$WORK/pixcdn-herd-cache"
	start_nginx
	{
		echo "## 2. Thundering herd"
		echo
		[ -z "$PX_NOTE" ] || printf '%s\n\n' "$PX_NOTE"
		echo "$HERD_CLIENTS clients released together on one cold /slow/<fresh key> (origin answers after 200 ms), $HERD_ROUNDS rounds per server; load average before: $(loadavg)."
		echo
	} | out
	timeout 300 "$BIN/herd" -url "$PIXCDN" -origin "$ORIGIN" -tag pixcdn -clients "$HERD_CLIENTS" -rounds "$HERD_ROUNDS" \
		-target-median 215ms >"$RAW/herd-pixcdn.md" 2>"$RAW/herd-pixcdn.err" || die "herd pixcdn: $(cat "$RAW/herd-pixcdn.err")"
	timeout 300 "$BIN/herd" -url "$NGINX" -origin "$ORIGIN" -tag nginx -clients "$HERD_CLIENTS" -rounds "$HERD_ROUNDS" \
		-target-median 215ms -header=false >"$RAW/herd-nginx.md" 2>"$RAW/herd-nginx.err" || die "herd nginx: $(cat "$RAW/herd-nginx.err")"
	curl -fsS --max-time 5 "http://127.0.0.1:$PX_ADMIN/stats" >"$RAW/pixcdn-herd-stats.json" || true
	{
		# One table: both runs' rows, then both verdicts.
		grep '^|' "$RAW/herd-pixcdn.md"
		grep '^|' "$RAW/herd-nginx.md"
		echo
		grep -v '^|' "$RAW/herd-pixcdn.md" | sed '/^$/d'
		echo
		grep -v '^|' "$RAW/herd-nginx.md" | sed '/^$/d'
		cat "$RAW"/herd-*.err
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

# ---------------------------------------------------------------- 3. memory

cmd_rss() {
	MEASURE=rss
	start_origin 0s
	local cache="$WORK/pixcdn-rss-cache"
	start_pixcdn "$cache" 64MiB
	{
		echo "## 3. Memory (peak RSS)"
		echo
		[ -z "$PX_NOTE" ] || printf '%s\n\n' "$PX_NOTE"
		echo "pixcdn with cache.memory_size 64MiB and a disk cache dir; $RSS_OBJECTS distinct 100 KiB objects, one fill pass then uniformly random requests for $RSS_DURATION (32 connections); load average before: $(loadavg)."
		echo
	} | out
	timeout 600 "$BIN/rss" -url "$PIXCDN" -pid "$PIXCDN_PID" -objects "$RSS_OBJECTS" -duration "$RSS_DURATION" \
		-mem-tier $((64 << 20)) >"$RAW/rss.md" 2>"$RAW/rss.err" || die "rss: $(cat "$RAW/rss.err")"
	curl -fsS --max-time 5 "http://127.0.0.1:$PX_ADMIN/stats" >"$RAW/pixcdn-rss-stats.json" || true
	{
		cat "$RAW/rss.md"
		echo
		echo "Disk cache after the run: $(du -sh "$cache" 2>/dev/null | cut -f1). Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

# ---------------------------------------------------------------- 4. rebuild

cmd_rebuild() {
	MEASURE=rebuild
	local test=TestRebuildMillion
	echo "## 4. Disk-tier rebuild (1M objects)" | out
	echo | out
	if ! grep -qs "func $test(" "$ROOT"/internal/store/*_test.go; then
		echo "internal/store has no $test: not measured." | out
		return 0
	fi
	{
		echo "\`PIXCDN_BENCH_REBUILD=1 go test -run '^$test\$' -v -timeout 30m ./internal/store/\` (writes ~1.2 GB in a temp dir); load average before: $(loadavg)."
		echo
		echo '```'
	} | out
	(cd "$ROOT" && PIXCDN_BENCH_REBUILD=1 timeout 1900 go test -run "^$test\$" -v -timeout 30m ./internal/store/ 2>&1) |
		tee "$RAW/rebuild.txt" | grep -vE '^=== (RUN|PAUSE|CONT)' | out
	{
		echo '```'
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
}

# ---------------------------------------------------------------- 5. operations

OPS_TOKEN=bench-admin-token

# ops_config FILE CACHE_DIR ACCESS_LOG RULE_TTL: an edge config with a token-protected admin API,
# the access log at ACCESS_LOG ("" = none, json format otherwise) and one cache rule (prefix
# /gen/r/, ttl RULE_TTL), the only thing the two reload variants differ in.
ops_config() {
	local file=$1 cache=$2 alog=$3 ttl=$4
	{
		echo "listen: \"127.0.0.1:$PX_PORT\""
		echo "admin:"
		echo "  listen: \"127.0.0.1:$PX_ADMIN\""
		echo "  token: \"$OPS_TOKEN\""
		if [ -n "$alog" ]; then
			echo "log:"
			echo "  access_log: \"$alog\""
			echo "  access_format: json"
		else
			# The 'off' edge: no access log, and per-request metrics off too unless
			# BENCH_OPS_OFF_METRICS=true, so "on vs off" is both against neither.
			echo "log:"
			echo "  metrics: ${BENCH_OPS_OFF_METRICS:-false}"
		fi
		echo "cache:"
		echo "  dir: \"$cache\""
		echo "domains:"
		echo "  - name: \"*\""
		echo "    origin:"
		echo "      servers:"
		echo "        - url: \"$ORIGIN\""
		echo "    cache:"
		echo "      rules:"
		echo "        - prefix: /gen/r/"
		echo "          ttl: $ttl"
	} >"$file"
	"$BIN/pixcdn" config check "$file" >"$WORK/check.out" 2>&1 || die "pixcdn rejects $file: $(cat "$WORK/check.out")"
}

# start_ops_pixcdn NAME ACCESS_LOG: one edge from ops_config (rule ttl 600s). Sets PIXCDN,
# PIXCDN_PID, PX_ADMIN, ADMIN (base URL) and OPS_CFG (its config file).
start_ops_pixcdn() {
	local name=$1 alog=$2
	free_port PX_PORT
	free_port PX_ADMIN
	OPS_CFG="$WORK/ops-$name.yaml"
	ops_config "$OPS_CFG" "$WORK/ops-$name-cache" "$alog" 600s
	cp "$OPS_CFG" "$RAW/ops-$name.yaml"
	GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)} "$BIN/pixcdn" edge -config "$OPS_CFG" >"$RAW/pixcdn-ops-$name.log" 2>&1 &
	PIXCDN_PID=$!
	PIDS+=("$PIXCDN_PID")
	PIXCDN="http://127.0.0.1:$PX_PORT"
	ADMIN="http://127.0.0.1:$PX_ADMIN"
	wait_http "$ADMIN/healthz"
}

# metric ADMIN NAME: the sum of every series of one metric on that edge's /metrics.
metric() {
	curl -fsS --max-time 5 -H "Authorization: Bearer $OPS_TOKEN" "$1/metrics" |
		awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}

# ops_tool SUBCOMMAND FLAG...: bench/cmd/ops against the current edge; prints its RESULT fields.
ops_tool() {
	local cmd=$1 res
	shift
	res=$(timeout 300 "$BIN/ops" "$cmd" -url "$PIXCDN" -admin "$ADMIN" -token "$OPS_TOKEN" "$@" 2>>"$RAW/ops-tool.err") ||
		die "ops $cmd: $(tail -5 "$RAW/ops-tool.err")"
	echo "$res" >>"$RAW/ops-tool.out"
	grep '^RESULT ' <<<"$res" | sed 's/^RESULT //'
}

# perf_share PID SECONDS SYMBOL...: CPU profile of PID (perf, with call graphs) while wrk loads
# it, then each symbol's share of the process's samples, children included ("SYMBOL=x.xx%").
perf_share() {
	local pid=$1 secs=$2 data="$WORK/perf-$1.data" sym
	shift 2
	perf record -F 999 -g -p "$pid" -o "$data" -- sleep "$secs" >/dev/null 2>&1 || return 1
	perf report -i "$data" --children --no-demangle --stdio --sort symbol 2>/dev/null >"$RAW/perf-$pid.txt"
	for sym; do
		awk -v s="$sym" '$0 ~ /^ +[0-9.]+%/ && index($0, s) { gsub("%", "", $1); printf "%s=%s%%\n", s, $1; f = 1; exit } END { if (!f) printf "%s=0%%\n", s }' "$RAW/perf-$pid.txt"
	done
}

# ops_log_cost: 1. the access log on versus off (two edges, wrk alternating), the access log's
# lines against the requests, and the share of the hit path's CPU in metrics and logging (perf).
ops_log_cost() {
	local r on_pid off_pid on_url off_url on_admin off_admin
	start_ops_pixcdn off ""
	off_pid=$PIXCDN_PID off_url=$PIXCDN off_admin=$ADMIN
	start_ops_pixcdn on "$WORK/access.log"
	on_pid=$PIXCDN_PID on_url=$PIXCDN on_admin=$ADMIN
	{
		echo "### 5.1 Access log and metrics on the hit path"
		echo
		echo "Two edges from one config, one with \`log.access_log: <temp dir>/access.log\` (json) and the per-request metrics, one with neither (\`log.metrics: ${BENCH_OPS_OFF_METRICS:-false}\`); wrk -t2 -c64 -d$DURATION --latency on /obj/1k, $ROUNDS round(s) alternating (log on, then log off); load average before: $(loadavg)."
		echo
		check_hit pixcdn "$on_url/obj/1k"
		check_hit pixcdn "$off_url/obj/1k"
	} | out
	: >"$WORK/log.tsv"
	for ((r = 1; r <= ROUNDS; r++)); do
		PIXCDN_PID=$on_pid HIT_TSV=log.tsv wrk_round 1k pixcdn-log-on "$on_url" $r
		PIXCDN_PID=$off_pid HIT_TSV=log.tsv wrk_round 1k pixcdn-log-off "$off_url" $r
	done
	ops_paced_cpu "$on_pid" "$on_url" "$off_pid" "$off_url" >"$WORK/paced.md"
	local requests dropped wrk_on lines on off ratio
	requests=$(metric "$on_admin" pixcdn_requests_total)
	dropped=$(metric "$on_admin" pixcdn_access_log_dropped_lines_total)
	wrk_on=$(cat "$RAW"/wrk-1k-pixcdn-log-on-*.txt | awk '/^RESULT/ { sub("requests=", "", $2); s += $2 } END { print s }')
	# Perf profiles: one more wrk run per edge, not part of the on/off ratio.
	local perf_off="" perf_on=""
	if command -v perf >/dev/null; then
		timeout 60 wrk -t2 -c64 -d12s -s "$BENCH/wrk/report.lua" "$off_url/obj/1k" >"$RAW/wrk-perf-off.txt" 2>&1 &
		local wpid=$!
		sleep 1
		perf_off=$(perf_share "$off_pid" 10 'edge.(*Server).ServeHTTP' 'edge.(*Server).report' 'metrics.(*Metrics).Request' | tr '\n' ' ')
		wait "$wpid" || true
		timeout 60 wrk -t2 -c64 -d12s -s "$BENCH/wrk/report.lua" "$on_url/obj/1k" >"$RAW/wrk-perf-on.txt" 2>&1 &
		wpid=$!
		sleep 1
		perf_on=$(perf_share "$on_pid" 10 'edge.(*Server).ServeHTTP' 'edge.(*Server).report' 'metrics.(*Metrics).Request' 'accesslog.(*Logger).Log' 'accesslog.(*Logger).run' | tr '\n' ' ')
		wait "$wpid" || true
	fi
	requests=$(metric "$on_admin" pixcdn_requests_total) # again: the perf run added requests
	dropped=$(metric "$on_admin" pixcdn_access_log_dropped_lines_total)
	stop_pid "$on_pid" # SIGTERM drains the access log
	forget_pid "$on_pid"
	lines=$(wc -l <"$WORK/access.log")
	wrk_perf_on=$(awk '/^RESULT/ { sub("requests=", "", $2); print $2 }' "$RAW/wrk-perf-on.txt")
	on=$(col "$WORK/log.tsv" 1k pixcdn-log-on 4 | median)
	off=$(col "$WORK/log.tsv" 1k pixcdn-log-off 4 | median)
	ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
	{
		echo
		echo "| edge | round | req/s | p50 ms | p99 ms | socket errors | non-2xx | origin requests | server CPU µs/req | other CPU % |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5 / 1000, $6 / 1000, $7, $8, $9, $11, $10 }' "$WORK/log.tsv"
		echo
		echo "Median req/s: log on $(printf '%.0f' "$on"), log off $(printf '%.0f' "$off"): ratio on/off **$ratio** (cost $(awk -v r="$ratio" 'BEGIN { printf "%.1f", (1 - r) * 100 }') %; target ≤ 5 %: $(awk -v r="$ratio" 'BEGIN { print (r >= 0.95 ? "met" : "**not met**") }'))."
		echo
		ops_clean_ratio "$WORK/log.tsv"
		echo
		cat "$WORK/paced.md"
		echo
		echo "Access log of the 'on' edge after its shutdown (drained): $lines lines; pixcdn_requests_total $requests; pixcdn_access_log_dropped_lines_total $dropped; lines + dropped - requests = $((lines + dropped - requests)). wrk completed $wrk_on requests in the measured rounds and $wrk_perf_on in the perf run (plus 3 warm-up requests; wrk does not count requests still in flight when it stops)."
		echo
		if [ -n "$perf_off" ]; then
			echo "CPU profile (\`perf record -F 999 -g -p PID -- sleep 10\` during a separate 12 s wrk run on each edge; share of the edge process's samples, callees included):"
			echo
			echo "- log off: \`$perf_off\`"
			echo "- log on: \`$perf_on\`"
		else
			echo "perf is not installed: metrics not isolated by profile."
		fi
		echo
	} | out
	ops_metrics_bench | out
	echo "Load average after: $(loadavg)." | out
	echo | out
	PIXCDN_PID=$off_pid PIXCDN=$off_url ADMIN=$off_admin OPS_CFG="$WORK/ops-off.yaml"
}

# ops_paced_cpu ON_PID ON_URL OFF_PID OFF_URL: server CPU per request of each edge at a bounded
# rate (wrk -t1 -c$BENCH_OPS_PACED_CONNS with bench/wrk/paced.lua: each connection waits 1 ms
# after each answer, so about 1000 requests/s per connection, far below saturation), rounds
# alternating on/off. CPU per request at a fixed rate moves far less with other load on the
# machine than throughput at saturation does.
ops_paced_cpu() {
	local on_pid=$1 on_url=$2 off_pid=$3 off_url=$4 conns=${BENCH_OPS_PACED_CONNS:-24} r tsv=$WORK/paced.tsv
	PACED_DURATION=${BENCH_OPS_PACED_DURATION:-8s}
	: >"$tsv"
	for ((r = 1; r <= ROUNDS * 2; r++)); do
		if ((r % 2)); then
			ops_paced_round on "$on_pid" "$on_url" "$conns" "$r" >>"$tsv"
			ops_paced_round off "$off_pid" "$off_url" "$conns" "$r" >>"$tsv"
		else
			ops_paced_round off "$off_pid" "$off_url" "$conns" "$r" >>"$tsv"
			ops_paced_round on "$on_pid" "$on_url" "$conns" "$r" >>"$tsv"
		fi
	done
	local on off
	on=$(awk -F'\t' '$1 == "on" { print $4 }' "$tsv" | median)
	off=$(awk -F'\t' '$1 == "off" { print $4 }' "$tsv" | median)
	echo "Paced CPU per request (wrk -t1 -c$conns -d$PACED_DURATION -s paced.lua, $((ROUNDS * 2)) rounds per edge alternating; server CPU µs per request, other CPU %):"
	echo
	echo "| edge | round | req/s | server CPU µs/req | other CPU % |"
	echo "|---|---|---|---|---|"
	awk -F'\t' '{ printf "| log %s | %s | %.0f | %s | %s |\n", $1, $2, $3, $4, $5 }' "$tsv"
	echo
	echo "Median server CPU per request at a paced rate: log on $on µs, log off $off µs: **$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }') %**."
}

# ops_paced_round NAME PID URL CONNS ROUND: one paced wrk run; prints NAME ROUND req/s CPU-µs/req other-CPU-%.
ops_paced_round() {
	local name=$1 pid=$2 url=$3 conns=$4 round=$5 raw="$RAW/wrk-paced-$1-$5.txt" b0 t0 b1 t1 s0 s1 res wrk_s
	read -r b0 t0 < <(cpu_jiffies)
	s0=$(proc_jiffies "$pid")
	local TIMEFORMAT='%U %S'
	{ time timeout 120 wrk -t1 -c"$conns" -d"$PACED_DURATION" -s "$BENCH/wrk/paced.lua" "$url/obj/1k" >"$raw" 2>&1; } 2>"$WORK/wrk.time" ||
		die "wrk failed: $(cat "$raw")"
	s1=$(proc_jiffies "$pid")
	read -r b1 t1 < <(cpu_jiffies)
	res=$(grep '^RESULT ' "$raw") || die "no RESULT line in $raw"
	eval "local ${res#RESULT }"
	wrk_s=$(awk '{ print $1 + $2 }' "$WORK/wrk.time")
	awk -v n="$name" -v r="$round" -v rps="$rps" -v q="$requests" -v s=$((s1 - s0)) -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v w="$wrk_s" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { o = (b - s - w * hz) / t * 100; printf "%s\t%s\t%.0f\t%.2f\t%.0f\n", n, r, rps, s / hz * 1e6 / q, (o < 0 ? 0 : o) }'
}

# ops_clean_ratio TSV: the on/off ratio over the undisturbed rounds only (other CPU ≤ 5 %), and
# the server CPU per request, which other load moves less than throughput.
ops_clean_ratio() {
	local tsv=$1 con coff n_on n_off cpu_on cpu_off
	con=$(awk -F'\t' '$2 == "pixcdn-log-on" && $10 <= 5 { print $4 }' "$tsv" | median || echo "")
	coff=$(awk -F'\t' '$2 == "pixcdn-log-off" && $10 <= 5 { print $4 }' "$tsv" | median || echo "")
	n_on=$(awk -F'\t' '$2 == "pixcdn-log-on" && $10 <= 5' "$tsv" | wc -l)
	n_off=$(awk -F'\t' '$2 == "pixcdn-log-off" && $10 <= 5' "$tsv" | wc -l)
	if [ -n "$con" ] && [ -n "$coff" ]; then
		echo "Undisturbed rounds only (other CPU ≤ 5 %: $n_on on, $n_off off): log on $(printf '%.0f' "$con"), log off $(printf '%.0f' "$coff") req/s, ratio **$(awk -v a="$con" -v b="$coff" 'BEGIN { printf "%.3f", a / b }')**."
	else
		echo "Undisturbed rounds only (other CPU ≤ 5 %): $n_on on, $n_off off: no ratio (rerun when the machine is quiet)."
	fi
	cpu_on=$(col "$tsv" 1k pixcdn-log-on 11 | median)
	cpu_off=$(col "$tsv" 1k pixcdn-log-off 11 | median)
	echo "Server CPU per request (median of all rounds): log on $cpu_on µs, log off $cpu_off µs: $(awk -v a="$cpu_on" -v b="$cpu_off" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }') %."
}

ops_metrics_bench() {
	echo "\`go test -run '^\$' -bench '^BenchmarkRequest\$' -benchmem ./internal/metrics/\` (metrics.Request alone, RunParallel on 2 CPUs):"
	echo
	echo '```'
	(cd "$ROOT" && timeout 300 go test -run '^$' -bench '^BenchmarkRequest$' -benchmem ./internal/metrics/ 2>&1) |
		tee "$RAW/metrics-bench.txt" | grep -E '^(Benchmark|ok|FAIL)' || true
	echo '```'
	echo
}

# ops_purge: 2. purge latency, one URL and a prefix over 100,000 objects under load.
ops_purge() {
	local n=${BENCH_OPS_OBJECTS:-100000} rounds=${BENCH_OPS_PURGE_ROUNDS:-1} r
	{
		echo "### 5.2 Purge latency"
		echo
		echo "Same edge (access log off), admin API with a bearer token; load average before: $(loadavg)."
		echo
	} | out
	eval "local $(ops_tool purge-url -path /gen/u/1 -reps 200)"
	{
		echo "(a) One URL, 200 times: make /gen/u/1 a hit, \`POST /purge {\"kind\":\"url\"}\`, request it again at once (\`bench/cmd/ops purge-url\`)."
		echo
		echo "| purge call p50 / p99 / max ms | purge answer → first miss p50 / p99 / max ms | first request after the purge not a miss |"
		echo "|---|---|---|"
		awk -v a="$purge_p50_us" -v b="$purge_p99_us" -v c="$purge_max_us" -v d="$miss_p50_us" -v e="$miss_p99_us" -v f="$miss_max_us" -v g="$first_not_miss" \
			'BEGIN { printf "| %.3f / %.3f / %.3f | %.3f / %.3f / %.3f | %d of 200 |\n", a / 1000, b / 1000, c / 1000, d / 1000, e / 1000, f / 1000, g }'
		echo
	} | out
	eval "local $(ops_tool fill -prefix /gen/q/ -n 5000 -c 32 | sed 's/\([a-z_]*\)=/fq_\1=/g')"
	: >"$WORK/purge.tsv"
	: >"$WORK/prefix.tsv"
	for ((r = 1; r <= rounds; r++)); do
		ops_prefix_round "$n" "$r"
	done
	{
		echo "(b) Prefix, $rounds round(s): each fills $n objects under its own prefix /gen/p<round>/ (\`bench/cmd/ops fill\`, 32 concurrent requests, benchorigin \`-gen-size 512\`), then two wrk runs of 10 s (-t2 -c64, bench/wrk/paths.lua cycling over /gen/q/0..999, 5000 objects filled beforehand, all hits): the first without a purge, the second with \`POST /purge {\"kind\":\"prefix\",\"targets\":[\"127.0.0.1:PORT/gen/p<round>/\"]}\` fired 2 s in, followed at once by requests under that prefix until one misses. After the second run, 1000 distinct random purged objects (of the $((n - 1000)) never probed) must all miss and 1000 of the 5000 /gen/q/ objects must all hit (\`bench/cmd/ops sample\`)."
		echo
		echo "| round | fill | purge call ms | purge answer → first miss ms | requests until that miss | purged sample: miss / hit / other / errors | unpurged sample: hit / miss / other / errors |"
		echo "|---|---|---|---|---|---|---|"
		cat "$WORK/prefix.tsv"
		echo
		echo "| wrk run (hits on /gen/q/) | req/s | p50 ms | p99 ms | socket errors | non-2xx | origin requests (all paths) | server CPU µs/req | other CPU % |"
		echo "|---|---|---|---|---|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $3, $4, $5 / 1000, $6 / 1000, $7, $8, $9, $11, $10 }' "$WORK/purge.tsv"
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
}

# ops_prefix_round N ROUND: fill N objects under /gen/p<ROUND>/, wrk without and with a purge of
# that prefix, then the samples; appends a table row to prefix.tsv.
ops_prefix_round() {
	local n=$1 r=$2 prefix="/gen/p$2/"
	# Each tool's RESULT fields get a prefix, so one result cannot overwrite another's (or $n).
	eval "local $(ops_tool fill -prefix "$prefix" -n "$n" -c 32 | sed 's/\([a-z_]*\)=/fp_\1=/g')"
	WRK_PATH_PREFIX=/gen/q/ WRK_PATH_COUNT=1000 WRK_SCRIPT=paths.lua HIT_TSV=purge.tsv ORIGIN_PATH="" DURATION=10s \
		wrk_round q pixcdn "$PIXCDN" "no-purge-$r"
	timeout 60 "$BIN/ops" purge-prefix -url "$PIXCDN" -admin "$ADMIN" -token "$OPS_TOKEN" -prefix "$prefix" -n "$n" -delay 2s \
		>"$WORK/purge-prefix.out" 2>>"$RAW/ops-tool.err" &
	local ppid=$!
	WRK_PATH_PREFIX=/gen/q/ WRK_PATH_COUNT=1000 WRK_SCRIPT=paths.lua HIT_TSV=purge.tsv ORIGIN_PATH="" DURATION=10s \
		wrk_round q pixcdn "$PIXCDN" "purge-at-2s-$r"
	wait "$ppid" || die "ops purge-prefix: $(tail -5 "$RAW/ops-tool.err")"
	cat "$WORK/purge-prefix.out" >>"$RAW/ops-tool.out"
	eval "local $(sed -n 's/^RESULT //p' "$WORK/purge-prefix.out")"
	eval "local $(ops_tool sample -prefix "$prefix" -n $((n - 1000)) -k 1000 -want miss -seed "$r" | sed 's/\([a-z_]*\)=/p_\1=/g')"
	eval "local $(ops_tool sample -prefix /gen/q/ -n 5000 -k 1000 -want hit -seed "$r" | sed 's/\([a-z_]*\)=/q_\1=/g')"
	awk -v r="$r" -v f="$fp_n in ${fp_duration_s} s, $fp_errors errors" -v a="$purge_us" -v b="$miss_us" -v c="$probes" \
		-v p="$p_misses / $p_hits / $p_other / $p_errors" -v q="$q_hits / $q_misses / $q_other / $q_errors" \
		'BEGIN { printf "| %s | %s | %.3f | %.3f | %d | %s | %s |\n", r, f, a / 1000, b / 1000, c, p, q }' >>"$WORK/prefix.tsv"
}

# ops_reload: 3. ten SIGHUP reloads, alternating two configs that differ in a cache rule, under load.
ops_reload() {
	local a="$WORK/ops-reload-a.yaml" b="$WORK/ops-reload-b.yaml" rounds=${BENCH_OPS_RELOAD_ROUNDS:-1} r
	cp "$OPS_CFG" "$a"
	sed 's/ttl: 600s/ttl: 1200s/' "$OPS_CFG" >"$b"
	"$BIN/pixcdn" config check "$b" >/dev/null || die "reload variant rejected"
	cp "$b" "$RAW/ops-reload-b.yaml"
	{
		echo "### 5.3 Reload under load"
		echo
		echo "Same edge; $rounds round(s) of two wrk -t2 -c64 -d20s runs on /obj/1k (cached): without reloads, then with 10 SIGHUPs one every 1.5 s from 1.5 s in, the config file replaced (write + rename) before each by the other of two valid variants differing only in the rule for /gen/r/ (ttl 600s / 1200s). After each SIGHUP the script waits for the log line \"configuration reloaded\" and requests a fresh /gen/r/ object to read the ttl in its Cache-Status. Load average before: $(loadavg)."
		echo
	} | out
	check_hit pixcdn "$PIXCDN/obj/1k" | out
	echo | out
	: >"$WORK/reload.tsv"
	: >"$WORK/reload-checks.txt"
	for ((r = 1; r <= rounds; r++)); do
		ops_reload_round "$a" "$b" "$r"
	done
	{
		echo "| wrk run | req/s | p50 ms | p99 ms | socket errors | non-2xx | origin requests for /obj/1k | server CPU µs/req | other CPU % |"
		echo "|---|---|---|---|---|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $3, $4, $5 / 1000, $6 / 1000, $7, $8, $9, $11, $10 }' "$WORK/reload.tsv"
		echo
		cat "$WORK/reload-checks.txt"
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
}

# ops_reload_round A B ROUND: the wrk run without reloads, then the one with ten.
ops_reload_round() {
	local a=$1 b=$2 r=$3 before after failed r0 r1 log="$RAW/pixcdn-ops-off.log"
	HIT_TSV=reload.tsv DURATION=20s wrk_round 1k pixcdn "$PIXCDN" "no-reload-$r"
	before=$(grep -c 'configuration reloaded' "$log" || true)
	failed=$(grep -c 'reload failed' "$log" || true)
	(
		for ((i = 1; i <= 10; i++)); do
			sleep 1.5
			if ((i % 2)); then cp "$b" "$OPS_CFG.tmp"; else cp "$a" "$OPS_CFG.tmp"; fi
			mv "$OPS_CFG.tmp" "$OPS_CFG"
			kill -HUP "$PIXCDN_PID"
			for ((j = 0; j < 50; j++)); do
				[ "$(grep -c 'configuration reloaded' "$log")" -ge $((before + i)) ] && break
				sleep 0.02
			done
			curl -fsS -D - -o /dev/null --max-time 5 "$PIXCDN/gen/r/reload-$r-$i" | tr -d '\r' |
				sed -n 's/^[Cc]ache-[Ss]tatus:.*ttl=\([0-9-]*\).*/\1/p'
		done >"$WORK/reload-ttls.txt"
	) &
	local rpid=$!
	HIT_TSV=reload.tsv DURATION=20s wrk_round 1k pixcdn "$PIXCDN" "10-reloads-$r"
	wait "$rpid" || true
	after=$(grep -c 'configuration reloaded' "$log" || true)
	failed=$(($(grep -c 'reload failed' "$log" || true) - failed))
	r0=$(awk -F'\t' -v n="no-reload-$r" '$3 == n { print $4 }' "$WORK/reload.tsv")
	r1=$(awk -F'\t' -v n="10-reloads-$r" '$3 == n { print $4 }' "$WORK/reload.tsv")
	echo "- Round $r: req/s with/without reloads $(awk -v a="$r1" -v b="$r0" 'BEGIN { printf "%.3f", a / b }'); \"configuration reloaded\" in the pixcdn log during the run: $((after - before)) (10 expected); \"reload failed\": $failed; ttl of a fresh /gen/r/ object after each reload (1199 then 599, alternating, expected): $(tr '\n' ' ' <"$WORK/reload-ttls.txt")" >>"$WORK/reload-checks.txt"
}

cmd_ops() {
	MEASURE=ops
	command -v perf >/dev/null || echo "run.sh: perf not found; the metrics share is not profiled" >&2
	start_origin 0s -gen-size 512
	{
		echo "## 5. Operations"
		echo
		echo "pixcdn only; benchorigin with \`-gen-size 512\`; GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)}."
		echo
	} | out
	local parts=${BENCH_OPS_PARTS:-log,purge,reload}
	if [[ ,$parts, == *,log,* ]]; then
		ops_log_cost
	else
		start_ops_pixcdn off ""
	fi
	[[ ,$parts, != *,purge,* ]] || ops_purge
	[[ ,$parts, != *,reload,* ]] || ops_reload
	stop_all
}

# ---------------------------------------------------------------- 6. access control

# access_config FILE CACHE_DIR ACCESS_FILE: an edge for $ORIGIN (domain "*", admin without a
# token on loopback) whose domain gets the "access:" block in ACCESS_FILE ("" = no rules).
access_config() {
	local file=$1 cache=$2 acc=$3
	{
		echo "listen: \"127.0.0.1:$PX_PORT\""
		echo "admin:"
		echo "  listen: \"127.0.0.1:$PX_ADMIN\""
		echo "cache:"
		echo "  dir: \"$cache\""
		echo "domains:"
		echo "  - name: \"*\""
		echo "    origin:"
		echo "      servers:"
		echo "        - url: \"$ORIGIN\""
		[ -z "$acc" ] || cat "$acc"
	} >"$file"
	"$BIN/pixcdn" config check "$file" >"$WORK/check.out" 2>&1 || die "pixcdn rejects $file: $(head -c 500 "$WORK/check.out")"
}

# start_access_pixcdn NAME ACCESS_FILE: one edge from access_config. Sets PIXCDN, PIXCDN_PID,
# ADMIN and ACC_CFG.
start_access_pixcdn() {
	local name=$1 acc=$2
	free_port PX_PORT
	free_port PX_ADMIN
	ACC_CFG="$WORK/access-$name.yaml"
	access_config "$ACC_CFG" "$WORK/access-$name-cache" "$acc"
	cp "$ACC_CFG" "$RAW/access-$name.yaml"
	GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)} "$BIN/pixcdn" edge -config "$ACC_CFG" >"$RAW/pixcdn-access-$name.log" 2>&1 &
	PIXCDN_PID=$!
	PIDS+=("$PIXCDN_PID")
	PIXCDN="http://127.0.0.1:$PX_PORT"
	ADMIN="http://127.0.0.1:$PX_ADMIN"
	wait_http "$ADMIN/healthz"
}

# access_status URL [CURL ARGS...]: the status code of one GET.
access_status() {
	local url=$1
	shift
	curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$url"
}

# access_wrk NAME URL ROUND PID [WRK ARGS...]: one wrk -t2 -c64 run on URL; appends name, round,
# req/s, p50, p99 (µs), socket errors, non-2xx, origin requests for /obj/1k, other CPU % and
# server CPU µs/req to $WORK/acc-hit.tsv (see wrk_round for "other").
access_wrk() {
	local name=$1 url=$2 round=$3 pid=$4 raw before after b0 t0 b1 t1 s0 s1 wrk_s other res cpu_us
	shift 4
	raw="$RAW/wrk-access-$name-$round.txt"
	before=$(origin_count /obj/1k)
	read -r b0 t0 < <(cpu_jiffies)
	s0=$(proc_jiffies "$pid")
	local TIMEFORMAT='%U %S'
	{ time timeout 120 wrk -t2 -c64 -d"$DURATION" --latency -s "$BENCH/wrk/report.lua" "$@" "$url" >"$raw" 2>&1; } 2>"$WORK/wrk.time" ||
		die "wrk failed: $(cat "$raw")"
	s1=$(proc_jiffies "$pid")
	read -r b1 t1 < <(cpu_jiffies)
	after=$(origin_count /obj/1k)
	wrk_s=$(awk '{ print $1 + $2 }' "$WORK/wrk.time")
	other=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v s=$((s1 - s0)) -v w="$wrk_s" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { o = (b - s - w * hz) / t * 100; printf "%.0f", (o < 0 ? 0 : o) }')
	res=$(grep '^RESULT ' "$raw") || die "no RESULT line in $raw"
	eval "local ${res#RESULT }"
	cpu_us=$(awk -v s=$((s1 - s0)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", s / hz * 1e6 / n }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$rps" "$p50_us" "$p99_us" "$errors" \
		"$status_errors" "$((after - before))" "$other" "$cpu_us" >>"$WORK/acc-hit.tsv"
	echo "  access $name round $round: $rps req/s, p50 ${p50_us}us, p99 ${p99_us}us, errors $errors/$status_errors, origin +$((after - before)), other CPU ${other}%, server ${cpu_us} CPU-us/req" >&2
}

# access_rules FILE: the "all rules" access block of 6.1.
access_rules() {
	local p
	{
		echo "    access:"
		echo "      sign: {type: A, keys: [\"$ACC_SIGN_KEY\"], ttl: 8760h}"
		echo "      referer: {mode: allow, patterns: [\"example.com\", \"*.example.com\", \"img.*.example.org\"], allow_empty: false}"
		echo "      user_agent:"
		echo "        mode: deny"
		echo "        allow_empty: false"
		echo "        patterns:"
		for p in '*curl*' '*wget*' '*python-requests*' '*python-urllib*' '*scrapy*' '*go-http-client*' \
			'*java/*' '*libwww-perl*' '*httpclient*' '*okhttp*' '*aiohttp*' '*masscan*' '*zgrab*' '*nikto*' \
			'*sqlmap*' '*nmap*' 'mj12bot*' '*ahrefsbot*' '*semrushbot*' '*dotbot*'; do
			echo "          - \"$p\""
		done
		echo "      rate_limits:"
		echo "        - {name: per-ip, key: ip, requests: 100000000, interval: 1s, burst: 100000000}"
		echo "      ip:"
		echo "        mode: deny"
		echo "        cidrs:"
		"$BIN/access" cidrs -n 10000 -seed 1
	} >"$1"
}

# access_tamper URL: URL with its last character changed (the end of the type A signature).
access_tamper() {
	local u=$1
	if [ "${u: -1}" = 0 ]; then echo "${u%?}1"; else echo "${u%?}0"; fi
}

# access_hit: 6.1, the hit path with every rule on versus none (two edges, wrk alternating).
access_hit() {
	local r on_pid off_pid on_url off_url signed ua='Mozilla/5.0 (X11; Linux x86_64) pixcdn-bench/1.0' ref='https://www.example.com/page.html'
	start_origin 0s
	access_rules "$WORK/rules.yaml"
	start_access_pixcdn none ""
	off_pid=$PIXCDN_PID off_url=$PIXCDN/obj/1k
	start_access_pixcdn rules "$WORK/rules.yaml"
	on_pid=$PIXCDN_PID
	signed=$("$BIN/pixcdn" sign -config "$ACC_CFG" "$PIXCDN/obj/1k") || die "pixcdn sign failed"
	on_url=$signed
	local h=(-H "User-Agent: $ua" -H "Referer: $ref")
	access_status "$on_url" "${h[@]}" >/dev/null
	access_status "$off_url" "${h[@]}" >/dev/null
	{
		echo "### 6.1 Cost on the hit path"
		echo
		echo "Two edges, one without access rules, one with all of: \`sign\` type A (ttl 8760h; wrk requests one URL printed by \`pixcdn sign\`), \`referer\` allow list (3 patterns), \`user_agent\` deny list (20 patterns), \`ip\` deny list of 10,000 CIDRs not containing 127.0.0.1 (5,000 IPv4, 5,000 IPv6, \`bench/cmd/access cidrs -seed 1\`) and one rate rule keyed by ip at 100,000,000 requests/s. Both get the same headers (\`User-Agent: $ua\`, \`Referer: $ref\`); wrk -t2 -c64 -d$DURATION --latency on /obj/1k (cached), $ROUNDS round(s) alternating (rules, then none). Load average before: $(loadavg)."
		echo
		echo "Checks on the rules edge before the load (status codes): signed + headers $(access_status "$on_url" "${h[@]}"), unsigned $(access_status "$PIXCDN/obj/1k" "${h[@]}"), wrong Referer $(access_status "$on_url" -H "User-Agent: $ua" -H 'Referer: https://evil.example.net/'), curl's User-Agent $(access_status "$on_url" -H "Referer: $ref"), signature altered $(access_status "$(access_tamper "$on_url")" "${h[@]}"); the unsigned-path Cache-Status of the signed URL: \`$(curl -sS -D - -o /dev/null --max-time 10 "${h[@]}" "$on_url" | tr -d '\r' | grep -i '^cache-status' || true)\`."
		echo
	} | out
	: >"$WORK/acc-hit.tsv"
	for ((r = 1; r <= ROUNDS; r++)); do
		access_wrk rules "$on_url" "$r" "$on_pid" "${h[@]}"
		access_wrk none "$off_url" "$r" "$off_pid" "${h[@]}"
	done
	local on off ratio con coff cpu_on cpu_off
	on=$(awk -F'\t' '$1 == "rules" { print $3 }' "$WORK/acc-hit.tsv" | median)
	off=$(awk -F'\t' '$1 == "none" { print $3 }' "$WORK/acc-hit.tsv" | median)
	ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
	con=$(awk -F'\t' '$1 == "rules" && $9 <= 5 { print $3 }' "$WORK/acc-hit.tsv" | median || echo "")
	coff=$(awk -F'\t' '$1 == "none" && $9 <= 5 { print $3 }' "$WORK/acc-hit.tsv" | median || echo "")
	cpu_on=$(awk -F'\t' '$1 == "rules" { print $10 }' "$WORK/acc-hit.tsv" | median)
	cpu_off=$(awk -F'\t' '$1 == "none" { print $10 }' "$WORK/acc-hit.tsv" | median)
	{
		echo "| edge | round | req/s | p50 ms | p99 ms | socket errors | non-2xx | origin requests | server CPU µs/req | other CPU % |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4 / 1000, $5 / 1000, $6, $7, $8, $10, $9 }' "$WORK/acc-hit.tsv"
		echo
		echo "Median req/s: rules $(printf '%.0f' "$on"), none $(printf '%.0f' "$off"): ratio **$ratio** (cost $(awk -v r="$ratio" 'BEGIN { printf "%.1f", (1 - r) * 100 }') %; target ≤ 10 %: $(awk -v r="$ratio" 'BEGIN { print (r >= 0.90 ? "met" : "**not met**") }'))."
		if [ -n "$con" ] && [ -n "$coff" ]; then
			echo "Undisturbed rounds only (other CPU ≤ 5 %): ratio **$(awk -v a="$con" -v b="$coff" 'BEGIN { printf "%.3f", a / b }')**."
		else
			echo "No undisturbed pair of rounds (other CPU ≤ 5 %): rerun when the machine is quiet."
		fi
		echo "Server CPU per request (median): rules $cpu_on µs, none $cpu_off µs: $(awk -v a="$cpu_on" -v b="$cpu_off" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }') %. Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

# access_flood: 6.2, a paced good client alone and while wrk floods the same rate rule with
# another key.
access_flood() {
	local r
	cat >"$WORK/flood.yaml" <<-EOF
		    access:
		      rate_limits:
		        - {name: per-client, key: "header:X-Client", requests: 1000, interval: 1s, burst: 1000, block: 1s}
	EOF
	start_origin 0s
	local target="the same edge" abuse
	if [ -n "${BENCH_ACCESS_FLOOD_CONTROL:-}" ]; then
		# Control: wrk loads a second edge without rules (all 200), so the good client's latency
		# shows the machine's contention alone, without the limiter.
		start_access_pixcdn control ""
		abuse=$PIXCDN/obj/1k target="a second edge without rules (control)"
		access_status "$abuse" >/dev/null
	fi
	start_access_pixcdn flood "$WORK/flood.yaml"
	access_status "$PIXCDN/obj/1k" -H 'X-Client: warm' >/dev/null
	abuse=${abuse:-$PIXCDN/obj/1k}
	{
		echo "### 6.2 Flood of one key"
		echo
		echo "Rate rule \`{key: \"header:X-Client\", requests: 1000, interval: 1s, burst: 1000, block: 1s}\`. The good client (\`bench/cmd/access paced\`: 500 req/s on 4 keep-alive connections, each on a fixed schedule, \`X-Client: good\`, /obj/1k cached) runs 10 s alone, then 10 s while wrk -t2 -c64 -H 'X-Client: bad' (bench/wrk/status.lua) on $target runs 12 s from 1 s before it; $ROUNDS round(s). Latency \"from send\" is the request's own; \"from schedule\" counts from when it was due, so it includes waiting behind a slow predecessor. Load average before: $(loadavg)."
		echo
		echo "| round | good client | requests | p50 ms | p99 ms | max ms | p50 / p99 from schedule ms | 200 | 429 | 403 | other | errors | abuser req/s | abuser 200 | abuser 429 | abuser socket errors |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	} | out
	: >"$WORK/flood.tsv"
	for ((r = 1; r <= ROUNDS; r++)); do
		access_paced "$r" alone ""
		if [ -n "${BENCH_ACCESS_FLOOD_RATE:-}" ]; then
			# The abuser at a fixed rate (the issue's "10x the rate limit"), not as fast as wrk can.
			timeout 60 "$BIN/access" paced -url "$abuse" -header X-Client -value bad -rate "$BENCH_ACCESS_FLOOD_RATE" -c 16 -d 12s >"$RAW/wrk-flood-$r.txt" 2>&1 &
		else
			timeout 60 wrk -t2 -c64 -d12s -H 'X-Client: bad' -s "$BENCH/wrk/status.lua" "$abuse" >"$RAW/wrk-flood-$r.txt" 2>&1 &
		fi
		local wpid=$!
		sleep 1
		access_paced "$r" "under flood" "$wpid"
	done
	{
		cat "$WORK/flood.tsv"
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

# access_paced ROUND LABEL WRK_PID: one 10 s run of the good client; with WRK_PID, waits for that
# wrk and adds its counts to the row.
access_paced() {
	local r=$1 label=$2 wpid=$3 res ab="| - | - | - | - |"
	res=$(timeout 60 "$BIN/access" paced -url "$PIXCDN/obj/1k" -header X-Client -value good -rate 500 -c 4 -d 10s 2>>"$RAW/access-tool.err") ||
		die "access paced: $(tail -5 "$RAW/access-tool.err")"
	echo "$r $label $res" >>"$RAW/access-tool.out"
	eval "local ${res#RESULT }"
	if [ -n "$wpid" ]; then
		wait "$wpid" || die "wrk flood failed: $(cat "$RAW/wrk-flood-$r.txt")"
		ab=$(sed -n 's/^RESULT .* rps=\([0-9.]*\) .* errors=\([0-9]*\) .* c200=\([0-9]*\) c429=\([0-9]*\).*/| \1 | \3 | \4 | \2 |/p' "$RAW/wrk-flood-$r.txt")
		[ -n "$ab" ] || ab=$(sed -n 's/^RESULT .* rps=\([0-9.]*\) .* ok=\([0-9]*\) r429=\([0-9]*\) .* errors=\([0-9]*\).*/| \1 | \2 | \3 | \4 |/p' "$RAW/wrk-flood-$r.txt")
		[ -n "$ab" ] || die "no RESULT in $RAW/wrk-flood-$r.txt"
	fi
	awk -v r="$r" -v l="$label" -v n="$requests" -v a="$p50_us" -v b="$p99_us" -v c="$max_us" -v d="$sched_p50_us" -v e="$sched_p99_us" \
		-v s="$ok | $r429 | $r403 | $other | $errors" -v ab="$ab" \
		'BEGIN { printf "| %s | %s | %d | %.3f | %.3f | %.3f | %.3f / %.3f | %s %s\n", r, l, n, a / 1000, b / 1000, c / 1000, d / 1000, e / 1000, s, ab }' >>"$WORK/flood.tsv"
}

# access_spoof: 6.3, memory while every request brings a new rate-limit key.
access_spoof() {
	local n=${BENCH_ACCESS_SPOOF_N:-1000000} keys res
	{
		echo "### 6.3 Memory under a spoofed-key flood"
		echo
		echo "Rate rule \`{key: \"header:X-Client\", requests: 100, interval: 1s}\`; $n requests for /obj/1k (cached), each with its own X-Client value, 32 at a time over keep-alive connections (\`bench/cmd/access spoof\`); VmRSS (/proc/PID/status) and \`go_memstats_heap_inuse_bytes\` (/metrics) read before, every 250 ms during (peak kept), at the end and 2 s later. A fresh edge per setting. Load average before: $(loadavg)."
		echo
		echo "| rate_limit_keys | limiter bound (32 B × keys) MB (10^6 B) | requests/s | 200 / 429 / other / errors | RSS before / peak / end / +2 s MiB | heap in use before / peak / end / +2 s MiB | RSS growth (peak − before) MiB | heap growth (peak − before) MiB |"
		echo "|---|---|---|---|---|---|---|---|"
	} | out
	for keys in ${BENCH_ACCESS_SPOOF_KEYS:-100000 1000000}; do
		cat >"$WORK/spoof.yaml" <<-EOF
			    access:
			      rate_limit_keys: $keys
			      rate_limits:
			        - {name: per-client, key: "header:X-Client", requests: 100, interval: 1s}
		EOF
		start_origin 0s
		start_access_pixcdn "spoof-$keys" "$WORK/spoof.yaml"
		access_status "$PIXCDN/obj/1k" -H 'X-Client: warm' >/dev/null
		res=$(timeout 600 "$BIN/access" spoof -url "$PIXCDN/obj/1k" -header X-Client -n "$n" -c 32 -pid "$PIXCDN_PID" -metrics "$ADMIN/metrics" 2>>"$RAW/access-tool.err") ||
			die "access spoof: $(tail -5 "$RAW/access-tool.err")"
		echo "keys=$keys $res" >>"$RAW/access-tool.out"
		eval "local ${res#RESULT }"
		awk -v k="$keys" -v rps="$rps" -v s="$ok / $r429 / $other / $errors" \
			-v r0="$rss_before" -v r1="$rss_peak" -v r2="$rss_end" -v r3="$rss_after" \
			-v h0="$heap_before" -v h1="$heap_peak" -v h2="$heap_end" -v h3="$heap_after" \
			'BEGIN { m = 1048576; printf "| %d | %.1f | %.0f | %s | %.1f / %.1f / %.1f / %.1f | %.1f / %.1f / %.1f / %.1f | %+.1f | %+.1f |\n", k, k * 32 / 1e6, rps, s, r0 / m, r1 / m, r2 / m, r3 / m, h0 / m, h1 / m, h2 / m, h3 / m, (r1 - r0) / m, (h1 - h0) / m }' | out
		stop_all
	done
	{
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
}

cmd_access() {
	MEASURE=access
	ACC_SIGN_KEY=bench-sign-key-0123456789abcdef
	{
		echo "## 6. Access control"
		echo
		echo "pixcdn only; GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)}."
		echo
	} | out
	local parts=${BENCH_ACCESS_PARTS:-hit,flood,spoof}
	[[ ,$parts, != *,hit,* ]] || access_hit
	[[ ,$parts, != *,flood,* ]] || access_flood
	[[ ,$parts, != *,spoof,* ]] || access_spoof
	stop_all
}

# ---------------------------------------------------------------- 7. images and text compression

IMG_SOAK=${BENCH_IMG_SOAK:-600s}
IMG_DURATION=${BENCH_IMG_DURATION:-20s}
IMG_HIT_DURATION=${BENCH_IMG_HIT_DURATION:-10s}
IMG_FLOOR_N=${BENCH_IMG_FLOOR_N:-60}

# img_bands W H SEED OUT.v: a photo-like 3-band float image: low-frequency Perlin colour fields,
# finer Perlin texture, hard-edged Worley cells, a gradient and Gaussian grain.
img_bands() {
	local w=$1 h=$2 seed=$3 out=$4 d="$WORK/gen" b
	local ec=(0.25 -0.15 0.1) gc=(0.03 0 -0.03) base=(120 110 100)
	mkdir -p "$d"
	vips worley "$d/w.v" "$w" "$h" --cell-size 180 --seed "$seed"
	vips relational_const "$d/w.v" "$d/e.v" more 55
	# Grain as a camera's: mostly luminance, the same noise in the three bands.
	vips gaussnoise "$d/n.v" "$w" "$h" --sigma 6 --mean 0 --seed $((seed + 31))
	vips xyz "$d/xy.v" "$w" "$h"
	vips extract_band "$d/xy.v" "$d/gx.v" 0
	vips extract_band "$d/xy.v" "$d/gy.v" 1
	for b in 0 1 2; do
		vips perlin "$d/p.v" "$w" "$h" --cell-size 300 --seed $((seed + 11 + b))
		vips perlin "$d/q.v" "$w" "$h" --cell-size 60 --seed $((seed + 21 + b))
		vips linear "$d/p.v" "$d/a.v" 130 "${base[$b]}"
		vips linear "$d/q.v" "$d/c.v" 35 0
		vips add "$d/a.v" "$d/c.v" "$d/s1.v"
		vips linear -- "$d/gx.v" "$d/t.v" "${gc[$b]}" 0
		vips add "$d/s1.v" "$d/t.v" "$d/s2.v"
		vips linear -- "$d/gy.v" "$d/t.v" -0.02 0
		vips add "$d/s2.v" "$d/t.v" "$d/s3.v"
		vips linear -- "$d/e.v" "$d/t.v" "${ec[$b]}" 0
		vips add "$d/s3.v" "$d/t.v" "$d/s4.v"
		vips add "$d/s4.v" "$d/n.v" "$d/band$b.v"
	done
	vips bandjoin "$d/band0.v $d/band1.v $d/band2.v" "$out"
}

# img_gen DIR: photo.jpg (2000x1500, JPEG q90) and alpha.png (1024x768 RGBA, the alpha a soft
# Perlin field with hard Worley holes), deterministic (fixed seeds).
img_gen() {
	local dir=$1 d="$WORK/gen"
	mkdir -p "$dir"
	img_bands 2000 1500 0 "$WORK/photo-f.v"
	vips cast "$WORK/photo-f.v" "$d/u.v" uchar
	vips copy "$d/u.v" "$d/srgb.v" --interpretation srgb
	vips copy "$d/srgb.v" "$dir/photo.jpg[Q=90,strip]"
	img_bands 1024 768 100 "$WORK/alpha-f.v"
	vips perlin "$d/ap.v" 1024 768 --cell-size 200 --seed 7
	vips linear "$d/ap.v" "$d/a1.v" 400 160
	vips worley "$d/aw.v" 1024 768 --cell-size 150 --seed 8
	vips relational_const "$d/aw.v" "$d/ae.v" more 40
	vips linear -- "$d/ae.v" "$d/a2.v" 1 -255
	vips add "$d/a1.v" "$d/a2.v" "$d/a3.v"
	vips bandjoin "$WORK/alpha-f.v $d/a3.v" "$d/rgba.v"
	vips cast "$d/rgba.v" "$d/rgbau.v" uchar
	vips copy "$d/rgbau.v" "$d/rgbas.v" --interpretation srgb
	vips copy "$d/rgbas.v" "$dir/alpha.png[compression=6,strip]"
	rm -rf "$d" "$WORK"/*-f.v
}

# img_demo_sources DIR: the demo site's painted photo (2000x1500 JPEG) and alpha badge
# (1024x768 PNG) as photo.jpg and alpha.png: smoother sources, closer to what a web page
# holds than the generated grain (BENCH_IMG_SOURCES=demo). -L: the demo answers from its router, a 302 to a node.
img_demo_sources() {
	local dir=$1 port pid
	mkdir -p "$dir"
	free_port port
	"$BIN/pixcdn" demo -listen "127.0.0.1:$port" >"$RAW/demo-sources.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_http "http://127.0.0.1:$port/"
	curl -fsSL -o "$dir/photo.jpg" "http://127.0.0.1:$port/img/lake-2000x1500.jpg"
	curl -fsSL -o "$dir/alpha.png" "http://127.0.0.1:$port/img/badge-1024x768.png"
	stop_pid "$pid"
}

# start_img_origin CACHE_CONTROL: benchorigin serving $IMG_DIR as /files/* with that header.
start_img_origin() { start_origin 0s -files "$IMG_DIR" -files-cache-control "$1"; }

# img_fetch URL FILE: GET with the benchmark's Accept; prints "status content-type cache-status".
img_fetch() {
	local hdr
	hdr=$(curl -sS -D - -o "$2" --max-time 60 -H 'Accept: image/avif,image/webp,image/*' "$1" | tr -d '\r')
	printf '%s %s %s\n' "$(awk 'NR == 1 { print $2 }' <<<"$hdr")" \
		"$(sed -n 's/^[Cc]ontent-[Tt]ype: *//p' <<<"$hdr")" "$(sed -n 's/^[Cc]ache-[Ss]tatus: *//p' <<<"$hdr" | tr ' ' '_')"
}

# img_dims FILE: "WxH" of an image file.
img_dims() { vipsheader -f width "$1" | tr -d '\n'; printf x; vipsheader -f height "$1"; }

# img_wrk TSV LABEL URL CONNS DURATION [WRK ARGS...]: one wrk run (bench/wrk/status.lua, or
# $IMG_WRK_SCRIPT) on URL;
# appends label, req/s, p50, p99 (µs), socket errors, non-2xx, 200s, server CPU ms per 200,
# origin requests and "other CPU %" (see wrk_round) to TSV.
img_wrk() {
	local tsv=$1 label=$2 url=$3 conns=$4 dur=$5 raw b0 t0 b1 t1 s0 s1 o0 o1 wrk_s other res
	shift 5
	raw="$RAW/wrk-$MEASURE-$label.txt"
	o0=$(origin_count "")
	read -r b0 t0 < <(cpu_jiffies)
	s0=$(proc_jiffies "$PIXCDN_PID")
	local TIMEFORMAT='%U %S'
	{ time timeout 300 wrk -t2 -c"$conns" -d"$dur" --timeout 30s --latency -s "$BENCH/wrk/${IMG_WRK_SCRIPT:-status.lua}" "$@" "$url" >"$raw" 2>&1; } 2>"$WORK/wrk.time" ||
		die "wrk failed: $(cat "$raw")"
	s1=$(proc_jiffies "$PIXCDN_PID")
	read -r b1 t1 < <(cpu_jiffies)
	o1=$(origin_count "")
	wrk_s=$(awk '{ print $1 + $2 }' "$WORK/wrk.time")
	other=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v s=$((s1 - s0)) -v w="$wrk_s" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { o = (b - s - w * hz) / t * 100; printf "%.0f", (o < 0 ? 0 : o) }')
	res=$(grep '^RESULT ' "$raw") || die "no RESULT line in $raw"
	eval "local ${res#RESULT }"
	local cpu_ms
	cpu_ms=$(awk -v s=$((s1 - s0)) -v n="$c200" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.4f", s / hz * 1000 / n; else print "-" }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$rps" "$p50_us" "$p99_us" "$errors" "$status_errors" \
		"$c200" "$cpu_ms" "$((o1 - o0))" "$other" "${c503:--}/${cother:--}${last_other:+ (last $last_other)}" >>"$tsv"
	echo "  $label: $rps req/s, p50 ${p50_us}us, p99 ${p99_us}us, errors $errors/$status_errors, 200s $c200, ${cpu_ms} CPU-ms per 200, origin +$((o1 - o0)), other CPU ${other}%" >&2
}

# The four cases of the issue: label, source, query, expected type and width, target CPU ms.
IMG_CASES=(
	"a-jpeg-300 photo.jpg w=300&q=80 image/jpeg 300 14"
	"b-webp-300 photo.jpg w=300&fm=webp&q=80 image/webp 300 19"
	"c-avif-300 photo.jpg w=300&fm=avif image/avif 300 30"
	"d-png-alpha-webp-512 alpha.png w=512&fm=webp image/webp 512 99"
)

# img_check LABEL URL TYPE WIDTH: one request must answer 200 with that type and width; prints
# a report line.
img_check() {
	local label=$1 url=$2 type=$3 width=$4 got dims
	got=$(img_fetch "$url" "$WORK/check.img")
	read -r st ct cs <<<"$got"
	[ "$st" = 200 ] && [ "$ct" = "$type" ] || die "$label: $url answered $got (want 200 $type)"
	dims=$(img_dims "$WORK/check.img")
	[ "${dims%x*}" = "$width" ] || die "$label: $url is $dims, want width $width"
	echo "- $label \`${url#http://127.0.0.1:*/}\`: 200 $ct $dims, $(stat -c %s "$WORK/check.img") bytes, Cache-Status \`${cs//_/ }\`"
}

# img_cpu: 7.1, CPU ms per image with the source no-store (every request processes), then the
# libvips CLI floor for the same operations.
img_cpu() {
	MEASURE=images-cpu
	local c label src q type width target
	start_img_origin no-store
	start_pixcdn "$WORK/pixcdn-img-cache"
	{
		echo "### 7.1 CPU per image under load"
		echo
		echo "Origin \`benchorigin -files DIR -files-cache-control no-store\`, so the edge stores neither the source nor the variant and every request fetches and processes again. pixcdn from a generated config (images on by default: 2 workers, queue 8; GOMAXPROCS=${BENCH_PIXCDN_GOMAXPROCS:-$(nproc)}). Per case: one checked request, then \`wrk -t2 -c8 -d$IMG_DURATION --timeout 30s --latency -s bench/wrk/bust.lua URL\` (bust.lua appends a distinct \`&cb=<thread>-<n>\` to every request: on one URL the edge coalesces the 8 concurrent identical requests into one transform, and a first trial counted about 8 answers per image processed); CPU = utime+stime of the pixcdn process (/proc/PID/stat) after − before, divided by the 200 answers wrk counted. Load average before: $(loadavg)."
		echo
		for c in "${IMG_CASES[@]}"; do
			read -r label src q type width target <<<"$c"
			img_check "$label" "$PIXCDN/files/$src?$q" "$type" "$width"
		done
		echo
	} | out
	: >"$WORK/img-cpu.tsv"
	for c in "${IMG_CASES[@]}"; do
		read -r label src q type width target <<<"$c"
		IMG_WRK_SCRIPT=bust.lua img_wrk "$WORK/img-cpu.tsv" "$label" "$PIXCDN/files/$src?$q" 8 "$IMG_DURATION"
	done
	{
		echo "| case | URL query | req/s | p50 ms | p99 ms | socket errors | non-2xx | 503 / other non-200 | 200s | origin requests (source fetches) | pixcdn CPU ms / image | target ms | ratio to target | other CPU % |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
		for c in "${IMG_CASES[@]}"; do
			read -r label src q type width target <<<"$c"
			awk -F'\t' -v l="$label" -v q="$src?$q" -v t="$target" '$1 == l { printf "| %s | `%s` | %.1f | %.1f | %.1f | %s | %s | %s | %s | %s | **%s** | %s | %.2f | %s |\n", $1, q, $2, $3 / 1000, $4 / 1000, $5, $6, $11, $7, $9, $8, t, $8 / t, $10 }' "$WORK/img-cpu.tsv"
		done
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
	img_floor | out
}

# img_floor: libvips' own CLI for the same operations: vipsthumbnail on N distinct names (links
# to the same file, so the operation cache cannot answer) in one process, CPU from bash's time;
# the marginal cost (N images − 1 image) / (N − 1) takes out start-up.
img_floor() {
	local dir="$WORK/floor" i n=$IMG_FLOOR_N row
	mkdir -p "$dir/in" "$dir/out"
	for ((i = 0; i < n; i++)); do
		ln -sf "$IMG_DIR/photo.jpg" "$dir/in/p$i.jpg"
		ln -sf "$IMG_DIR/alpha.png" "$dir/in/a$i.png"
	done
	echo "libvips floor: \`vipsthumbnail --vips-cache-max 0 -s SIZE -o OUT FILES\` ($(vips --version)), CPU = user+sys of the process; N=$n names (symlinks to the one source) per run, and a run of 1; marginal = (CPU(N) − CPU(1)) / (N − 1)."
	echo
	echo "| operation | vipsthumbnail -s / -o | output bytes | CPU ms / image, N=$n | CPU ms, N=1 (start-up included) | marginal CPU ms / image | pixcdn CPU ms / image (above) | pixcdn / marginal |"
	echo "|---|---|---|---|---|---|---|---|"
	img_floor_row a-jpeg-300 p jpg 300x '%s.jpg[Q=80,strip]'
	img_floor_row b-webp-300 p jpg 300x '%s.webp[Q=80,effort=4,strip]'
	img_floor_row c-avif-300 p jpg 300x '%s.avif[Q=60,effort=2,strip]'
	img_floor_row "c-avif-300 (libvips defaults Q=50 effort=4)" p jpg 300x '%s.avif[strip]'
	img_floor_row d-png-alpha-webp-512 a png 512x '%s.webp[Q=80,effort=4,strip]'
	echo
	echo "The pixcdn options are the pipeline's (internal/imageproc/pipeline_output.go: JPEG and WebP Q 80, AVIF Q 60 at effort 2, WebP effort 4, metadata stripped); the AVIF row with libvips' own defaults is for reference."
	echo
}

# img_floor_row LABEL PREFIX EXT SIZE OUTSPEC: one row of the floor table.
img_floor_row() {
	local label=$1 pre=$2 ext=$3 size=$4 spec=$5 files=() t1 tn out px
	local TIMEFORMAT='%U %S' i
	for ((i = 0; i < IMG_FLOOR_N; i++)); do files+=("$dir/in/$pre$i.$ext"); done
	rm -f "$dir/out"/*
	{ time vipsthumbnail --vips-cache-max 0 -s "$size" -o "$dir/out/$spec" "${files[0]}" 2>>"$RAW/vipsthumbnail.err"; } 2>"$WORK/t1" || die "vipsthumbnail failed: $(tail -3 "$RAW/vipsthumbnail.err")"
	{ time vipsthumbnail --vips-cache-max 0 -s "$size" -o "$dir/out/$spec" "${files[@]}" 2>>"$RAW/vipsthumbnail.err"; } 2>"$WORK/tn" || die "vipsthumbnail failed: $(tail -3 "$RAW/vipsthumbnail.err")"
	out=$(ls "$dir/out" | head -1)
	[ "$(ls "$dir/out" | wc -l)" -eq "$IMG_FLOOR_N" ] || die "vipsthumbnail wrote $(ls "$dir/out" | wc -l) files, want $IMG_FLOOR_N"
	px=$(awk -F'\t' -v l="${label%% *}" '$1 == l { print $8 }' "$WORK/img-cpu.tsv")
	awk -v l="$label" -v s="$size / ${spec#%s}" -v b="$(stat -c %s "$dir/out/$out")" -v n="$IMG_FLOOR_N" -v px="${px:--}" \
		-v t1="$(awk '{ print ($1 + $2) * 1000 }' "$WORK/t1")" -v tn="$(awk '{ print ($1 + $2) * 1000 }' "$WORK/tn")" \
		'BEGIN { m = (tn - t1) / (n - 1); printf "| %s | `%s` | %d | %.1f | %.0f | **%.1f** | %s | %s |\n", l, s, b, tn / n, t1, m, px, (px == "-" || m <= 0 ? "-" : sprintf("%.2fx", px / m)) }'
}

# img_hit: 7.2, a cached variant: req/s of wrk on one variant URL over a storable source.
img_hit() {
	MEASURE=images-hit
	local c label src q type width target
	start_img_origin max-age=3600
	start_pixcdn "$WORK/pixcdn-imghit-cache"
	{
		echo "### 7.2 Repeated requests: cache hits"
		echo
		echo "Origin \`-files-cache-control max-age=3600\`; each variant URL requested twice (the second must be a hit), then \`wrk -t2 -c8 -d$IMG_HIT_DURATION --latency\` on it. Load average before: $(loadavg)."
		echo
	} | out
	: >"$WORK/img-hit.tsv"
	for c in "${IMG_CASES[@]}"; do
		read -r label src q type width target <<<"$c"
		img_fetch "$PIXCDN/files/$src?$q" "$WORK/warm.img" >/dev/null
		img_check "$label" "$PIXCDN/files/$src?$q" "$type" "$width" | out
		grep -q "hit" <<<"$(img_fetch "$PIXCDN/files/$src?$q" "$WORK/warm.img")" || die "$label: the repeat is not a hit"
		img_wrk "$WORK/img-hit.tsv" "$label" "$PIXCDN/files/$src?$q" 8 "$IMG_HIT_DURATION"
	done
	{
		echo
		echo "| case | cached req/s | p50 ms | p99 ms | non-2xx | origin requests | pixcdn CPU ms / answer | processing req/s (7.1) | hit / processing |"
		echo "|---|---|---|---|---|---|---|---|---|"
		for c in "${IMG_CASES[@]}"; do
			read -r label src q type width target <<<"$c"
			local p
			p=$(awk -F'\t' -v l="$label" '$1 == l { print $2 }' "$WORK/img-cpu.tsv" 2>/dev/null)
			awk -F'\t' -v l="$label" -v p="${p:-0}" '$1 == l { printf "| %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |\n", $1, $2, $3 / 1000, $4 / 1000, $6, $9, $8, (p > 0 ? sprintf("%.1f", p) : "-"), (p > 0 ? sprintf("%.0fx", $2 / p) : "-") }' "$WORK/img-hit.tsv"
		done
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

# img_soak_paths FILE: the mixed load: both sources x 4 widths x jpeg/webp/avif x 3 fit modes,
# plus auto=format (Accept: avif, webp) at two widths.
img_soak_paths() {
	local src w fm fit
	for src in photo.jpg alpha.png; do
		for w in 120 320 640 1000; do
			for fm in jpg webp avif; do
				echo "/files/$src?w=$w&fm=$fm"
				echo "/files/$src?w=$w&h=$((w * 2 / 3))&fit=crop&fm=$fm"
				echo "/files/$src?w=$w&h=$w&fit=fill&bg=ffffff&fm=$fm&q=70"
			done
			echo "/files/$src?w=$w&auto=format"
		done
	done >"$1"
}

# img_soak: 7.3, RSS of pixcdn during a mixed transform load of BENCH_IMG_SOAK.
img_soak() {
	MEASURE=images-soak
	start_img_origin no-store
	start_pixcdn "$WORK/pixcdn-soak-cache"
	img_soak_paths "$WORK/soak.paths"
	cp "$WORK/soak.paths" "$RAW/soak.paths"
	local p bad=0
	while read -r p; do
		[ "$(img_fetch "$PIXCDN$p" "$WORK/s.img" | cut -d' ' -f1)" = 200 ] || { echo "run.sh: soak path $p is not 200" >&2; bad=$((bad + 1)); }
	done <"$WORK/soak.paths"
	{
		echo "### 7.3 Memory under a mixed transform load"
		echo
		echo "Origin no-store (every request processes); $(wc -l <"$WORK/soak.paths") distinct URLs (both sources × widths 120/320/640/1000 × jpg/webp/avif × fit clip / crop at 3:2 / fill on a square with bg and q=70, plus auto=format; list in raw/soak.paths), each checked once ($bad not 200), then requested round-robin by \`bench/cmd/imgsoak -c 8 -d $IMG_SOAK -interval 10s\` (Accept: image/avif,image/webp); VmRSS of pixcdn sampled every 10 s, VmHWM read at the end. Load average before: $(loadavg)."
		echo
	} | out
	local secs
	secs=$(awk -v d="$IMG_SOAK" 'BEGIN { print d + 0 }')
	timeout $((secs + 120)) "$BIN/imgsoak" -url "$PIXCDN" -paths "$WORK/soak.paths" -pid "$PIXCDN_PID" -c 8 -d "$IMG_SOAK" -interval 10s \
		>"$RAW/soak.md" 2>"$RAW/soak.err" || die "imgsoak: $(cat "$RAW/soak.err")"
	local res
	res=$(grep '^RESULT ' "$RAW/soak.md")
	eval "local ${res#RESULT }"
	{
		grep '^|' "$RAW/soak.md"
		echo
		awk -v a="$rss_start" -v b="$rss_mid" -v c="$rss_end" -v d="$rss_peak" -v h="$hwm" -v ok="$ok" -v o="$other" -v e="$errors" -v s="$duration_s" \
			'BEGIN { m = 1048576; printf "RSS start / middle / end / sampled peak: **%.1f / %.1f / %.1f / %.1f MiB**; VmHWM (kernel peak) %.1f MiB. Answers: %d x 200, %d other, %d errors in %.0f s (%.1f images/s).\n", a / m, b / m, c / m, d / m, h / m, ok, o, e, s, (ok + o) / s }'
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

# img_bytes: 7.4, output bytes of the defaults and their SSIM against the source resized alike.
img_bytes() {
	MEASURE=images-bytes
	local dir="$WORK/bytes" size q fm got
	mkdir -p "$dir"
	start_img_origin max-age=3600
	start_pixcdn "$WORK/pixcdn-bytes-cache"
	vips copy "$IMG_DIR/photo.jpg" "$dir/ref-full.png"
	vips thumbnail "$IMG_DIR/photo.jpg" "$dir/ref-1000.png" 1000
	{
		echo "### 7.4 Output bytes and quality of the defaults"
		echo
		echo "Source photo.jpg $(img_dims "$IMG_DIR/photo.jpg"), $(stat -c %s "$IMG_DIR/photo.jpg") bytes (JPEG q90). No quality in the URLs (the pipeline's defaults) except the last row of each size, JPEG q90, a yardstick: the source's grain is what lossy coding removes first, so absolute SSIM values are lower than on smooth photos. Reference for SSIM: the source decoded (full) or \`vips thumbnail photo.jpg ref.png 1000\`; every output decoded to PNG with \`vips copy\`; SSIM by \`bench/cmd/imgssim\` (Gaussian 11x11, mean of R, G, B; Debian's ImageMagick 6 has no SSIM metric and libjxl-tools 0.7 ships no butteraugli or ssimulacra2), PSNR by ImageMagick \`compare -metric PSNR\`."
		echo
		echo "| size | query | type | dims | bytes | vs source JPEG | vs default JPEG | SSIM | PSNR dB |"
		echo "|---|---|---|---|---|---|---|---|---|"
	} | out
	for size in full 1000; do
		local jpeg_bytes="" fq
		# The defaults, then JPEG q90 (the source's quality) as a yardstick for SSIM on this grain.
		for fq in jpg webp avif jpg-q90; do
			fm=${fq%-*}
			q="fm=$fm"
			[ "$fq" = jpg-q90 ] && q="fm=jpg&q=90"
			[ $size = full ] || q="w=1000&$q"
			got=$(img_fetch "$PIXCDN/files/photo.jpg?$q" "$dir/out.$fm")
			read -r st ct cs <<<"$got"
			[ "$st" = 200 ] || die "bytes: $q answered $got"
			vips copy "$dir/out.$fm" "$dir/out-$fm.png" 2>>"$RAW/vips.err"
			local bytes ssim psnr dims
			bytes=$(stat -c %s "$dir/out.$fm")
			[ -n "$jpeg_bytes" ] || jpeg_bytes=$bytes
			dims=$(img_dims "$dir/out-$fm.png")
			ssim=$("$BIN/imgssim" "$dir/ref-$size.png" "$dir/out-$fm.png" | sed -n 's/^SSIM=\([0-9.]*\).*/\1/p') || die "imgssim failed"
			psnr=$(compare -metric PSNR "$dir/ref-$size.png" "$dir/out-$fm.png" null: 2>&1 || true)
			awk -v s=$size -v q="$q" -v ct="$ct" -v d="$dims" -v b="$bytes" -v src="$(stat -c %s "$IMG_DIR/photo.jpg")" -v j="$jpeg_bytes" -v ss="$ssim" -v p="$psnr" \
				'BEGIN { printf "| %s | `%s` | %s | %s | %d | %.1f %% | %.1f %% | %s | %s |\n", s, q, ct, d, b, b / src * 100, b / j * 100, ss, p }' | out
		done
	done
	{
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

cmd_images() {
	MEASURE=images
	ensure_pkg vips libvips-tools
	ensure_pkg compare imagemagick
	IMG_DIR="$WORK/images"
	local origin_note="generated by bench/run.sh (img_gen: libvips perlin + worley + xyz gradient + gaussnoise, fixed seeds)"
	if [[ ${BENCH_IMG_SOURCES:-generated} == demo ]]; then
		img_demo_sources "$IMG_DIR"
		origin_note="the demo site's painted lake photo and alpha badge (BENCH_IMG_SOURCES=demo)"
	else
		img_gen "$IMG_DIR"
	fi
	cp "$IMG_DIR"/* "$RAW/"
	{
		echo "## 7. Images"
		echo
		echo "Sources, $origin_note: photo.jpg $(img_dims "$IMG_DIR/photo.jpg") JPEG q90 **$(stat -c %s "$IMG_DIR/photo.jpg") bytes**; alpha.png $(img_dims "$IMG_DIR/alpha.png") RGBA **$(stat -c %s "$IMG_DIR/alpha.png") bytes** ($(vipsheader -f bands "$IMG_DIR/alpha.png") bands). $(vips --version)."
		echo
	} | out
	local parts=${BENCH_IMG_PARTS:-cpu,hit,soak,bytes}
	[[ ,$parts, != *,cpu,* ]] || img_cpu
	[[ ,$parts, != *,hit,* ]] || img_hit
	[[ ,$parts, != *,soak,* ]] || img_soak
	[[ ,$parts, != *,bytes,* ]] || img_bytes
}

# cmd_imgcmp: section 14, pixcdn beside imgproxy on the sources of section 7 (BENCH_IMG_SOURCES);
# BENCH_IMGCMP_ARGS passes more flags (-rounds 3 -d 15s, -also before=BINARY...).
cmd_imgcmp() {
	MEASURE=imgcmp
	local imgproxy=${IMGPROXY_BIN:-/tmp/imgproxy-ref/imgproxy}
	[ -x "$imgproxy" ] || die "no imgproxy at $imgproxy (build its release tag, see docs/BENCHMARKS.md section 14, or set IMGPROXY_BIN)"
	ensure_pkg vips libvips-tools
	IMG_DIR="$WORK/images"
	if [[ ${BENCH_IMG_SOURCES:-generated} == demo ]]; then
		img_demo_sources "$IMG_DIR"
	else
		img_gen "$IMG_DIR"
	fi
	cp "$IMG_DIR"/* "$RAW/"
	# shellcheck disable=SC2086 # BENCH_IMGCMP_ARGS is a list of flags
	(cd "$ROOT" && go run ./bench/cmd/imgcmp -bin "$BIN/pixcdn" -imgproxy "$imgproxy" -sources "$IMG_DIR" ${BENCH_IMGCMP_ARGS:-}) | out
}

# text_edge: br from the cache next to identity, wrk alternating.
text_edge() {
	MEASURE=text-edge
	local f r
	start_origin 0s -files "$ROOT/internal/demo/site" -files-cache-control max-age=3600
	start_pixcdn "$WORK/pixcdn-text-cache"
	{
		echo "Through the edge: origin \`benchorigin -files internal/demo/site\` (max-age=3600); each file requested twice with \`Accept-Encoding: br\` and twice without; then \`wrk -t2 -c64 -d$DURATION --latency\` alternating br / identity, $ROUNDS round(s). Load average before: $(loadavg)."
		echo
		for f in app.js style.css; do
			curl -fsS -o /dev/null -H 'Accept-Encoding: br' "$PIXCDN/files/$f"
			curl -fsS -o /dev/null "$PIXCDN/files/$f"
			echo "- $f br: \`$(curl -fsS -D - -o "$WORK/t.br" -H 'Accept-Encoding: br' "$PIXCDN/files/$f" | tr -d '\r' | grep -iE '^(content-encoding|cache-status|content-length)' | tr '\n' ' ')\`; identity: \`$(curl -fsS -D - -o /dev/null "$PIXCDN/files/$f" | tr -d '\r' | grep -iE '^(content-encoding|cache-status|content-length)' | tr '\n' ' ')\`"
		done
		echo
	} | out
	: >"$WORK/text.tsv"
	for f in app.js style.css; do
		for ((r = 1; r <= ROUNDS; r++)); do
			img_wrk "$WORK/text.tsv" "$f-br-$r" "$PIXCDN/files/$f" 64 "$DURATION" -H 'Accept-Encoding: br'
			img_wrk "$WORK/text.tsv" "$f-identity-$r" "$PIXCDN/files/$f" 64 "$DURATION"
		done
	done
	{
		echo "| file, coding, round | req/s | p50 ms | p99 ms | socket errors | non-2xx | origin requests | server CPU µs / answer | other CPU % |"
		echo "|---|---|---|---|---|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | %.0f | %.3f | %.3f | %s | %s | %s | %.1f | %s |\n", $1, $2, $3 / 1000, $4 / 1000, $5, $6, $9, $8 * 1000, $10 }' "$WORK/text.tsv"
		echo
		for f in app.js style.css; do
			local br id
			br=$(awk -F'\t' -v f="$f-br-" 'index($1, f) == 1 { print $2 }' "$WORK/text.tsv" | median)
			id=$(awk -F'\t' -v f="$f-identity-" 'index($1, f) == 1 { print $2 }' "$WORK/text.tsv" | median)
			echo "- $f: median br $(printf '%.0f' "$br") req/s, identity $(printf '%.0f' "$id") req/s: br / identity **$(awk -v a="$br" -v b="$id" 'BEGIN { printf "%.3f", a / b }')**."
		done
		echo
		echo "Load average after: $(loadavg)."
		echo
	} | out
	stop_all
}

cmd_text() {
	MEASURE=text
	{
		echo "## 7.5 Text compression"
		echo
		echo "\`bench/cmd/textratio -dir internal/demo/site\` (internal/compress.Encode: brotli 5, zstd 3, gzip 6; each encoding decoded and compared once; then encoded repeatedly for ≥ 300 ms, CPU = the process's user+sys from getrusage). Load average before: $(loadavg)."
		echo
	} | out
	"$BIN/textratio" -dir "$ROOT/internal/demo/site" >"$RAW/textratio.md" 2>&1 || die "textratio: $(cat "$RAW/textratio.md")"
	{
		cat "$RAW/textratio.md"
		echo
	} | out
	text_edge
}

# ---------------------------------------------------------------- main

main() {
	local cmd=${1:-}
	case $cmd in
	hit | herd | rss | rebuild | ops | access | images | imgcmp | text | control | router | all) ;;
	*)
		echo "usage: bench/run.sh hit|herd|rss|rebuild|ops|access|images|imgcmp|text|control|router|all" >&2
		exit 2
		;;
	esac
	ensure_pkg wrk wrk
	ensure_pkg nginx nginx-light nginx
	ensure_pkg curl curl
	command -v go >/dev/null || die "go is not on PATH"
	build
	mkdir -p "$BENCH/results"
	{
		echo "# pixcdn benchmark run $STAMP ($cmd)"
		echo
		echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). $(machine_line)"
		echo
	} | out
	case $cmd in
	hit) cmd_hit ;;
	herd) cmd_herd ;;
	rss) cmd_rss ;;
	rebuild) cmd_rebuild ;;
	ops) cmd_ops ;;
	access) cmd_access ;;
	images) cmd_images ;;
	imgcmp) cmd_imgcmp ;;
	text) cmd_text ;;
	control) (cd "$ROOT" && go run ./bench/cmd/control -bin "$BIN/pixcdn") | out ;;
	router) ensure_pkg dnsperf dnsperf && (cd "$ROOT" && go run ./bench/cmd/router -bin "$BIN/pixcdn") | out ;;
	all)
		cmd_hit
		cmd_herd
		cmd_rss
		cmd_ops
		;;
	esac
	echo "Raw outputs: bench/results/raw/$STAMP/; this report: bench/results/$STAMP.md" >&2
}

main "$@"
