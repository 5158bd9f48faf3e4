package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mem is a process's resident memory from /proc/PID/status, in bytes.
type mem struct {
	RSS int64 // VmRSS: resident now
	HWM int64 // VmHWM: the peak of VmRSS since the process started
}

// readMem reads /proc/PID/status under procDir.
func readMem(procDir string, pid int) (mem, error) {
	f, err := os.Open(filepath.Join(procDir, strconv.Itoa(pid), "status"))
	if err != nil {
		return mem{}, fmt.Errorf("imgsoak: %w", err)
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus picks VmRSS and VmHWM ("VmRSS:\t  12345 kB") out of a status file; both are
// required.
func parseStatus(r io.Reader) (mem, error) {
	var m mem
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM}
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		kb, unit, _ := strings.Cut(strings.TrimSpace(value), " ")
		n, err := strconv.ParseInt(kb, 10, 64)
		if err != nil || unit != "kB" {
			return mem{}, fmt.Errorf("imgsoak: %s: bad value %q", name, value)
		}
		*dst = n << 10
		seen++
	}
	if err := sc.Err(); err != nil {
		return mem{}, fmt.Errorf("imgsoak: %w", err)
	}
	if seen != 2 {
		return mem{}, fmt.Errorf("imgsoak: VmRSS or VmHWM missing (the process exited?)")
	}
	return m, nil
}
