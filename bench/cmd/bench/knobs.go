package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// knobs are the settings of a run. Each has a flag, and its default comes from the BENCH_*
// environment variable bench/run.sh has always read, so `BENCH_ROUNDS=1 bench/run.sh hit` and
// `go run ./bench/cmd/bench hit -rounds 1` are the same run.
type knobs struct {
	duration    time.Duration
	rounds      int
	gomaxprocs  int
	sendfile    bool
	hitLoopsOff bool
	bin         string
	herdRounds  int
	herdClients int
	rssDuration time.Duration
	rssObjects  int

	opsObjects, opsPurgeRounds, opsReloadRounds int
	opsPacedConns                               int
	opsPacedDuration                            time.Duration
	opsParts                                    string
	opsOffMetrics                               bool

	accessParts        string
	accessSpoofN       int
	accessSpoofKeys    string
	accessFloodControl bool
	accessFloodRate    int

	imgParts       string
	imgDuration    time.Duration
	imgHitDuration time.Duration
	imgSoak        time.Duration
	imgSources     string
	imgFloorN      int
	imgproxy       string

	rebuildObjects int
}

// register defines every knob's flag on fs; the error names an environment variable that
// does not parse.
func (k *knobs) register(fs *flag.FlagSet) error {
	e := &envDefaults{}
	fs.DurationVar(&k.duration, "duration", e.dur("BENCH_DURATION", 15*time.Second), "length of each wrk run (BENCH_DURATION)")
	fs.IntVar(&k.rounds, "rounds", e.int("BENCH_ROUNDS", 2), "rounds of every alternating measure (BENCH_ROUNDS)")
	fs.IntVar(&k.gomaxprocs, "gomaxprocs", e.int("BENCH_PIXCDN_GOMAXPROCS", 0), "cores pixcdn may use; 0: all (BENCH_PIXCDN_GOMAXPROCS)")
	fs.BoolVar(&k.hitLoopsOff, "hit-loops-off", e.onOff("BENCH_HIT_LOOPS_OFF", true), "hit: also measure pixcdn with server.event_loops off, a goroutine per connection (BENCH_HIT_LOOPS_OFF=on|off)")
	fs.BoolVar(&k.sendfile, "nginx-sendfile", e.onOff("BENCH_NGINX_SENDFILE", true), "nginx sends cached bodies with sendfile(2); false: it copies like pixcdn (BENCH_NGINX_SENDFILE=on|off)")
	fs.StringVar(&k.bin, "bin", e.str("PIXCDN_BENCH_BIN", "/tmp/pixcdn-bench"), "directory the binaries are built into (PIXCDN_BENCH_BIN)")
	fs.IntVar(&k.herdRounds, "herd-rounds", e.int("BENCH_HERD_ROUNDS", 5), "herd: rounds per server (BENCH_HERD_ROUNDS)")
	fs.IntVar(&k.herdClients, "herd-clients", e.int("BENCH_HERD_CLIENTS", 200), "herd: clients released together (BENCH_HERD_CLIENTS)")
	fs.DurationVar(&k.rssDuration, "rss-duration", e.dur("BENCH_RSS_DURATION", 60*time.Second), "rss: length of the random requests (BENCH_RSS_DURATION)")
	fs.IntVar(&k.rssObjects, "rss-objects", e.int("BENCH_RSS_OBJECTS", 3000), "rss: distinct 100 KiB objects (BENCH_RSS_OBJECTS)")
	fs.IntVar(&k.opsObjects, "ops-objects", e.int("BENCH_OPS_OBJECTS", 100000), "ops: objects under the purged prefix (BENCH_OPS_OBJECTS)")
	fs.IntVar(&k.opsPurgeRounds, "ops-purge-rounds", e.int("BENCH_OPS_PURGE_ROUNDS", 1), "ops: prefix purge rounds (BENCH_OPS_PURGE_ROUNDS)")
	fs.IntVar(&k.opsReloadRounds, "ops-reload-rounds", e.int("BENCH_OPS_RELOAD_ROUNDS", 1), "ops: reload rounds (BENCH_OPS_RELOAD_ROUNDS)")
	fs.IntVar(&k.opsPacedConns, "ops-paced-conns", e.int("BENCH_OPS_PACED_CONNS", 24), "ops: connections of the paced wrk of the log part (BENCH_OPS_PACED_CONNS)")
	fs.DurationVar(&k.opsPacedDuration, "ops-paced-duration", e.dur("BENCH_OPS_PACED_DURATION", 8*time.Second), "ops: length of each paced run, 2 x rounds per edge (BENCH_OPS_PACED_DURATION)")
	fs.StringVar(&k.opsParts, "ops-parts", e.str("BENCH_OPS_PARTS", "log,purge,reload"), "ops: parts to run (BENCH_OPS_PARTS)")
	fs.BoolVar(&k.opsOffMetrics, "ops-off-metrics", e.bool("BENCH_OPS_OFF_METRICS", false), "ops: the 'off' edge keeps its per-request metrics (BENCH_OPS_OFF_METRICS)")
	fs.StringVar(&k.accessParts, "access-parts", e.str("BENCH_ACCESS_PARTS", "hit,flood,spoof"), "access: parts to run (BENCH_ACCESS_PARTS)")
	fs.IntVar(&k.accessSpoofN, "access-spoof-n", e.int("BENCH_ACCESS_SPOOF_N", 1000000), "access: requests with distinct keys (BENCH_ACCESS_SPOOF_N)")
	fs.StringVar(&k.accessSpoofKeys, "access-spoof-keys", e.str("BENCH_ACCESS_SPOOF_KEYS", "100000 1000000"), "access: the rate_limit_keys settings tried, space-separated (BENCH_ACCESS_SPOOF_KEYS)")
	fs.BoolVar(&k.accessFloodControl, "access-flood-control", os.Getenv("BENCH_ACCESS_FLOOD_CONTROL") != "", "access: the flood's wrk loads a second edge without rules instead (BENCH_ACCESS_FLOOD_CONTROL non-empty)")
	fs.IntVar(&k.accessFloodRate, "access-flood-rate", e.int("BENCH_ACCESS_FLOOD_RATE", 0), "access: the abuser is a paced client at this many requests/s instead of wrk; 0: wrk (BENCH_ACCESS_FLOOD_RATE)")
	fs.StringVar(&k.imgParts, "img-parts", e.str("BENCH_IMG_PARTS", "cpu,hit,soak,bytes"), "images: parts to run (BENCH_IMG_PARTS)")
	fs.DurationVar(&k.imgDuration, "img-duration", e.dur("BENCH_IMG_DURATION", 20*time.Second), "images: wrk per image case (BENCH_IMG_DURATION)")
	fs.DurationVar(&k.imgHitDuration, "img-hit-duration", e.dur("BENCH_IMG_HIT_DURATION", 10*time.Second), "images: wrk per cached variant (BENCH_IMG_HIT_DURATION)")
	fs.DurationVar(&k.imgSoak, "img-soak", e.dur("BENCH_IMG_SOAK", 600*time.Second), "images: the mixed soak (BENCH_IMG_SOAK)")
	fs.StringVar(&k.imgSources, "img-sources", e.str("BENCH_IMG_SOURCES", "generated"), "images: generated (grainy synthetic sources) or demo (the demo site's images) (BENCH_IMG_SOURCES)")
	fs.IntVar(&k.imgFloorN, "img-floor-n", e.int("BENCH_IMG_FLOOR_N", 60), "images: images per vipsthumbnail process (BENCH_IMG_FLOOR_N)")
	fs.StringVar(&k.imgproxy, "imgproxy", e.str("IMGPROXY_BIN", "/tmp/imgproxy-ref/imgproxy"), "imgcmp: the imgproxy binary, built from its release tag (IMGPROXY_BIN)")
	fs.IntVar(&k.rebuildObjects, "rebuild-objects", e.int("BENCH_REBUILD_OBJECTS", 0), "rebuild: objects written and rebuilt; 0: the test's 1,000,000 (BENCH_REBUILD_OBJECTS)")
	return e.err
}

// envDefaults reads the environment's defaults and keeps the first that does not parse.
type envDefaults struct{ err error }

func (e *envDefaults) str(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func (e *envDefaults) fail(name, v string, err error) {
	if e.err == nil {
		e.err = fmt.Errorf("%s=%q: %v", name, v, err)
	}
}

func (e *envDefaults) dur(name string, def time.Duration) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(name, v, err)
		return def
	}
	return d
}

func (e *envDefaults) int(name string, def int) int {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(name, v, err)
		return def
	}
	return n
}

func (e *envDefaults) bool(name string, def bool) bool {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, v, err)
		return def
	}
	return b
}

func (e *envDefaults) onOff(name string, def bool) bool {
	switch v := strings.ToLower(e.str(name, "")); v {
	case "":
		return def
	case "on":
		return true
	case "off":
		return false
	default:
		e.fail(name, v, fmt.Errorf("want on or off"))
		return def
	}
}

// parts reads a comma-separated list of parts; every name must be one of known.
func parts(list string, known ...string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		ok := false
		for _, k := range known {
			ok = ok || k == p
		}
		if !ok {
			return nil, fmt.Errorf("unknown part %q (want some of %s)", p, strings.Join(known, ","))
		}
		want[p] = true
	}
	return want, nil
}

// secs is d in whole seconds ("15s", "60s"), as wrk is given it and the reports print it.
func secs(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second/2)/time.Second))) + "s"
}
