package h1

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWrk measures h1 against net/http with wrk (-t2 -c64 -d10s) serving
// 1 KB and 20 KB bodies from memory. It runs only with PIXCDN_H1_WRK=1:
//
//	PIXCDN_H1_WRK=1 go test -run TestWrk -v ./internal/h1/
//
// Server CPU is this process's rusage over the run (the test process only
// serves); the load average is printed because the machine is shared.
func TestWrk(t *testing.T) {
	if os.Getenv("PIXCDN_H1_WRK") != "1" {
		t.Skip("set PIXCDN_H1_WRK=1 to run wrk")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed")
	}
	for _, size := range []int{1024, 20 << 10} {
		for _, impl := range []string{"h1", "net/http"} {
			addr := serveFor(t, impl, objectHandler(size))
			reqs, cpu, wrkOut := runWrk(t, addr)
			load, _ := os.ReadFile("/proc/loadavg")
			t.Logf("%-8s %5d B: %8.0f req/s, server CPU %.2f µs/req, loadavg %s\n%s",
				impl, size, reqs, cpu.Seconds()*1e6/(reqs*10), strings.TrimSpace(string(load)), wrkOut)
		}
	}
}

func serveFor(t *testing.T, impl string, h http.Handler) string {
	if impl == "h1" {
		return startServer(t, &Server{Handler: h})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

var reqsPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func runWrk(t *testing.T, addr string) (float64, time.Duration, string) {
	before := selfCPU()
	out, err := exec.Command("wrk", "-t2", "-c64", "-d10s", "--latency", "http://"+addr+"/obj").CombinedOutput()
	cpu := selfCPU() - before
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	m := reqsPerSec.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no Requests/sec in\n%s", out)
	}
	var reqs float64
	for _, c := range string(m[1]) {
		if c == '.' {
			break
		}
		reqs = reqs*10 + float64(c-'0')
	}
	return reqs, cpu, string(out)
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
