// Command control measures the control plane on loopback with real edge processes
// (docs/BENCHMARKS.md section 10): a purge until the last node's acknowledgement with 5, 20 and
// 100 edges, from the control plane's answer and from the client's side; the same fan-out on a
// bare NATS server (core subscribers, then JetStream durable consumers) as the reference, in
// the same run; a configuration push until every node runs it; purges per second with every
// acknowledgement collected.
//
// The control plane runs in this process (control.Start, its embedded NATS on a free loopback
// port, a fresh data directory for each number of edges); each edge is a `pixcdn edge -nats`
// process built from this tree. Every process started is stopped at the end (SIGTERM, then
// SIGKILL after 5 s), also on an error or an interrupt; every load is bounded in count or time.
//
//	go run ./bench/cmd/control -part reference,purge,config,throughput -edges 5,20,100
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
)

var (
	parts      = flag.String("part", "reference,purge,config,throughput", "comma-separated parts to run")
	edgeCounts = flag.String("edges", "5,20,100", "purge and reference: numbers of edges (subscribers)")
	purges     = flag.Int("purges", 200, "purge and reference: purges measured at each number, sequential")
	warmup     = flag.Int("warmup", 20, "purge, reference and config: first rounds discarded")
	pushes     = flag.Int("pushes", 50, "config: pushes measured")
	cfgEdges   = flag.Int("config-edges", 20, "config: edges")
	tpEdges    = flag.Int("throughput-edges", 5, "throughput: edges")
	conc       = flag.Int("c", 16, "throughput: concurrent clients")
	duration   = flag.Duration("d", 10*time.Second, "throughput: length of the run")
	refProcs   = flag.Bool("ref-procs", true, "reference: also run the JetStream consumers as separate processes, one each, like the edges")
	binPath    = flag.String("bin", "", "the pixcdn binary (default: go build ./cmd/pixcdn into a temp dir)")
	edgeDisk   = flag.Bool("edge-disk", false, "give every edge a disk cache dir (its ban list is then written and fsynced on every purge)")
	cpuProfile = flag.String("cpuprofile", "", "write this process's CPU profile (control plane, its NATS, the clients) to FILE")

	// The role of a re-executed copy of this program: a reference subscriber (ref-procs).
	role      = flag.String("role", "", "internal: run as a reference consumer")
	roleNATS  = flag.String("role-nats", "", "internal")
	roleName  = flag.String("role-name", "", "internal")
	roleReady = flag.String("role-ready", "", "internal")
)

func main() {
	flag.Parse()
	if *role != "" {
		os.Exit(runRole())
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	children.OnSignal("control bench", func() { pprof.StopCPUProfile(); os.RemoveAll(workDir) })
	err := run()
	stopAllProcs()
	if err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
}

// workDir is removed on an interrupt too.
var workDir string

func fatal(err error) {
	stopAllProcs()
	fmt.Fprintln(os.Stderr, "control bench:", err)
	os.Exit(1)
}

// run runs the parts asked: the reference first (no edge running), then, for each number of
// edges, a control plane with that many edges and the parts measured at that number.
func run() error {
	want := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p {
		case "reference", "purge", "config", "throughput":
			want[p] = true
		default:
			return fmt.Errorf("unknown part %q", p)
		}
	}
	counts, err := parseCounts(*edgeCounts)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "pixcdn-control-bench-")
	if err != nil {
		return err
	}
	workDir = work
	defer os.RemoveAll(work)
	printHeader(counts)
	rep := newReport()
	if want["reference"] {
		if err := referenceAll(work, counts, rep); err != nil {
			return err
		}
	}
	steps := schedule(want, counts)
	if len(steps) == 0 {
		rep.print()
		return nil
	}
	bin := *binPath
	if bin == "" {
		if bin, err = buildPixcdn(work); err != nil {
			return err
		}
	}
	for _, st := range steps {
		if err := runStep(work, bin, st, rep); err != nil {
			return err
		}
	}
	rep.print()
	return nil
}

// step is one control plane with n edges and the parts measured on it, in this order.
type step struct {
	n     int
	parts []string
}

// schedule groups the parts by number of edges; throughput comes last at its number, since the
// thousands of purges it sends lengthen every edge's ban list.
func schedule(want map[string]bool, counts []int) []step {
	by := map[int][]string{}
	if want["purge"] {
		for _, n := range counts {
			by[n] = append(by[n], "purge")
		}
	}
	if want["config"] {
		by[*cfgEdges] = append(by[*cfgEdges], "config")
	}
	if want["throughput"] {
		by[*tpEdges] = append(by[*tpEdges], "throughput")
	}
	var out []step
	for n, ps := range by {
		out = append(out, step{n, ps})
	}
	slices.SortFunc(out, func(a, b step) int { return a.n - b.n })
	return out
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-edges %q: want positive numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func printHeader(counts []int) {
	host, _ := os.Hostname()
	fmt.Printf("# pixcdn control plane benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Printf("Host %s, %d CPUs, load average %s. Edges %v, %d purges measured after %d discarded, %d config pushes, throughput %d clients for %v on %d edges.\n\n",
		host, numCPU(), loadAvg(), counts, *purges, *warmup, *pushes, *conc, *duration, *tpEdges)
}
