// Package report writes the markdown of a benchmark run: every line to the terminal and to the
// run's report file at once, and the tables of the reports ("| a | b |" rows under a
// "|---|---|" rule).
package report

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Report is the run's markdown output. Its methods ignore write errors to the terminal; the
// first error of the file is kept and returned by Close.
type Report struct {
	w    io.Writer
	file *os.File
}

// Create writes to stdout and to a new file at path.
func Create(path string) (*Report, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &Report{w: io.MultiWriter(os.Stdout, f), file: f}, nil
}

// New writes to w only (tests, or a section's text captured before it is printed).
func New(w io.Writer) *Report { return &Report{w: w} }

// Write writes p as it is.
func (r *Report) Write(p []byte) (int, error) { return r.w.Write(p) }

// Printf writes one formatted piece.
func (r *Report) Printf(format string, a ...any) { fmt.Fprintf(r.w, format, a...) }

// Line writes the pieces of one line, joined by nothing, and a newline.
func (r *Report) Line(a ...any) { fmt.Fprintln(r.w, fmt.Sprint(a...)) }

// Para writes one paragraph: its text and an empty line.
func (r *Report) Para(format string, a ...any) { fmt.Fprintf(r.w, format+"\n\n", a...) }

// Table writes t and an empty line.
func (r *Report) Table(t *Table) { fmt.Fprintf(r.w, "%s\n", t) }

// Close closes the report file.
func (r *Report) Close() error {
	if r.file == nil {
		return nil
	}
	return r.file.Close()
}

// Table is a markdown table: a header, then rows of as many cells.
type Table struct {
	header []string
	rows   [][]string
}

// NewTable starts a table with these column names.
func NewTable(columns ...string) *Table { return &Table{header: columns} }

// Row adds one row; each cell is formatted with %v (strings as they are).
func (t *Table) Row(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	t.rows = append(t.rows, row)
}

// Len is the number of rows so far.
func (t *Table) Len() int { return len(t.rows) }

// String is the table in markdown, one line each for the header, the rule and every row.
func (t *Table) String() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	line(t.header)
	b.WriteString("|" + strings.Repeat("---|", len(t.header)) + "\n")
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}

// Ms formats microseconds as milliseconds with three decimals, the unit of the latency
// columns ("1.234").
func Ms(us float64) string { return fmt.Sprintf("%.3f", us/1000) }
