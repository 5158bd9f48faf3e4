package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pixcdn/pixcdn/internal/compress"
)

// codings are measured in the edge's order of preference.
var codings = []string{compress.Brotli, compress.Zstd, compress.Gzip}

// input is one named body.
type input struct {
	name string
	body []byte
}

// row is one input under one coding.
type row struct {
	name, coding string
	in, out      int
	iterations   int
	cpuMsPerMB   float64 // user+system CPU of the process per 10^6 input bytes
	wallMsPerMB  float64
}

// readInputs reads the regular files of dir in name order, plus their concatenation.
func readInputs(dir string) ([]input, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("textratio: %w", err)
	}
	var inputs []input
	var all []byte
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("textratio: %w", err)
		}
		inputs = append(inputs, input{e.Name(), b})
		all = append(all, b...)
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("textratio: no files in %s", dir)
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].name < inputs[j].name })
	return append(inputs, input{"all concatenated", all}), nil
}

func measureAll(inputs []input, minTime time.Duration) ([]row, error) {
	var rows []row
	for _, in := range inputs {
		for _, c := range codings {
			r, err := measure(in, c, minTime)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// measure encodes in once to check and size it, then repeatedly for at least minTime.
func measure(in input, coding string, minTime time.Duration) (row, error) {
	var buf bytes.Buffer
	if err := compress.Encode(coding, &buf, in.body); err != nil {
		return row{}, err
	}
	if err := roundTrip(coding, buf.Bytes(), in.body); err != nil {
		return row{}, fmt.Errorf("textratio: %s %s: %w", in.name, coding, err)
	}
	r := row{name: in.name, coding: coding, in: len(in.body), out: buf.Len()}
	cpu0, start := cpuTime(), time.Now()
	for r.iterations == 0 || time.Since(start) < minTime {
		buf.Reset()
		if err := compress.Encode(coding, &buf, in.body); err != nil {
			return row{}, err
		}
		r.iterations++
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	mb := float64(r.iterations) * float64(len(in.body)) / 1e6
	r.cpuMsPerMB = float64(cpu) / float64(time.Millisecond) / mb
	r.wallMsPerMB = float64(wall) / float64(time.Millisecond) / mb
	return r, nil
}

// roundTrip decodes enc with the coding's reference decoder and compares it with want.
func roundTrip(coding string, enc, want []byte) error {
	var r io.Reader
	switch coding {
	case compress.Brotli:
		r = brotli.NewReader(bytes.NewReader(enc))
	case compress.Gzip:
		g, err := gzip.NewReader(bytes.NewReader(enc))
		if err != nil {
			return err
		}
		r = g
	case compress.Zstd:
		z, err := zstd.NewReader(bytes.NewReader(enc))
		if err != nil {
			return err
		}
		defer z.Close()
		r = z
	default:
		return fmt.Errorf("unknown coding %q", coding)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("decoded %d bytes differ from the %d-byte input", len(got), len(want))
	}
	return nil
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeTable prints the rows as markdown.
func writeTable(w io.Writer, rows []row) error {
	fmt.Fprintln(w, "| input | coding | bytes in | bytes out | ratio (in/out) | saved % | encodes | CPU ms/MB | wall ms/MB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		_, err := fmt.Fprintf(w, "| %s | %s | %d | %d | %.2f | %.1f | %d | %.1f | %.1f |\n", r.name, r.coding, r.in, r.out,
			float64(r.in)/float64(r.out), 100*(1-float64(r.out)/float64(r.in)), r.iterations, r.cpuMsPerMB, r.wallMsPerMB)
		if err != nil {
			return err
		}
	}
	return nil
}
