// Package procstat reads a process's resident memory from /proc/PID/status, for the benchmark
// tools that watch the edge's memory (bench/cmd/rss, bench/cmd/imgsoak).
package procstat

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mem is a process's resident memory as the kernel reports it in /proc/PID/status.
type Mem struct {
	RSS  int64 // VmRSS: resident now, bytes
	HWM  int64 // VmHWM: the peak of VmRSS since the process started, bytes
	Anon int64 // RssAnon: the anonymous part of VmRSS (heap, stacks), bytes
	File int64 // RssFile: the file-backed part (the binary, mapped files), bytes
}

// Read reads /proc/PID/status under procDir ("/proc" outside tests).
func Read(procDir string, pid int) (Mem, error) {
	f, err := os.Open(filepath.Join(procDir, strconv.Itoa(pid), "status"))
	if err != nil {
		return Mem{}, fmt.Errorf("procstat: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Parse picks VmRSS, VmHWM, RssAnon and RssFile ("VmRSS:\t  12345 kB") out of a status
// file. VmRSS and VmHWM are required; the split appeared in Linux 4.5 and may be missing.
func Parse(r io.Reader) (Mem, error) {
	var m Mem
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		n, err := parseKB(value)
		if err != nil {
			return Mem{}, fmt.Errorf("procstat: %s: %w", name, err)
		}
		*dst = n
		if name == "VmRSS" || name == "VmHWM" {
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return Mem{}, fmt.Errorf("procstat: %w", err)
	}
	if seen != 2 {
		return Mem{}, fmt.Errorf("procstat: VmRSS or VmHWM missing (a kernel thread, or the process exited?)")
	}
	return m, nil
}

func parseKB(v string) (int64, error) {
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("unexpected value %q", v)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("unexpected value %q", v)
	}
	return n << 10, nil
}
