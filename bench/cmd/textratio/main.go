// Command textratio measures the edge's text codings on real files: for each file of a
// directory (and for all of them concatenated, a bundle-sized input) and each of brotli, zstd
// and gzip, the encoded size from internal/compress.Encode, the ratio to the original, and the
// CPU per megabyte of input (process user+system time from getrusage over repeated encodes,
// and wall time). Every encoding is decoded once and compared with its input.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "textratio:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("textratio", flag.ContinueOnError)
	dir := fs.String("dir", "", "`DIR` whose regular files are measured")
	minTime := fs.Duration("min-time", 300*time.Millisecond, "encode each input for at least this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("no -dir")
	}
	inputs, err := readInputs(*dir)
	if err != nil {
		return err
	}
	rows, err := measureAll(inputs, *minTime)
	if err != nil {
		return err
	}
	return writeTable(out, rows)
}
