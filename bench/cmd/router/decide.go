package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// decideResult is one sub-benchmark of BenchmarkDecide.
type decideResult struct {
	name          string
	nsPerOp       float64
	bytes, allocs int64
}

const decideTarget = 2 * time.Microsecond

// decidePart runs the router's decision benchmark (internal/router BenchmarkDecide) and reads
// its lines.
func decidePart(work string) ([]decideResult, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(work, "decide.txt")
	args := []string{"test", "-run", "xxx", "-bench", "BenchmarkDecide", "-benchtime", *decideTime, "-benchmem", "./internal/router"}
	load := loadAvg()
	w := startCPU(func() time.Duration { return 0 })
	toolCPU, err := runTool(5*time.Minute, "go test -bench", out, nil, root, "go", args...)
	if err != nil {
		return nil, err
	}
	_, other := w.End(toolCPU)
	data, _ := os.ReadFile(out)
	var rs []decideResult
	var raw []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "BenchmarkDecide/") {
			continue
		}
		raw = append(raw, line)
		r := decideResult{name: strings.TrimPrefix(f[0], "BenchmarkDecide/")}
		r.nsPerOp, _ = strconv.ParseFloat(f[2], 64)
		r.bytes, _ = strconv.ParseInt(f[4], 10, 64)
		r.allocs, _ = strconv.ParseInt(f[6], 10, 64)
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no BenchmarkDecide line in the output:\n%s", tail(data, 2000))
	}
	fmt.Println("## Decision time per query")
	fmt.Println()
	fmt.Printf("`go %s` (load average before %s; other CPU %.0f %% outside the go command and its children, which include the compiler):\n\n", strings.Join(args, " "), load, other)
	fmt.Println("```")
	fmt.Println(strings.Join(raw, "\n"))
	fmt.Println("```")
	fmt.Println()
	fmt.Println("| sub-benchmark | ns/decision | B / allocs per decision | target < 2 µs, 0 allocs | met? |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rs {
		met := "yes"
		if r.nsPerOp >= float64(decideTarget.Nanoseconds()) || r.allocs != 0 {
			met = "**no**"
		}
		fmt.Printf("| %s | %.1f | %d / %d | | %s |\n", r.name, r.nsPerOp, r.bytes, r.allocs, met)
	}
	fmt.Println()
	return rs, nil
}
