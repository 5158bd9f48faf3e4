package report

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tb := NewTable("object", "req/s", "p50 ms")
	tb.Row("1k", "45492", Ms(1186))
	tb.Row("20k", 27614, Ms(33517.4))
	want := "| object | req/s | p50 ms |\n|---|---|---|\n| 1k | 45492 | 1.186 |\n| 20k | 27614 | 33.517 |\n"
	if got := tb.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if tb.Len() != 2 {
		t.Errorf("Len %d", tb.Len())
	}
}

func TestReportWrites(t *testing.T) {
	var b strings.Builder
	r := New(&b)
	r.Para("## %d. Section", 1)
	r.Line("a", "b")
	tb := NewTable("x")
	tb.Row(1)
	r.Table(tb)
	want := "## 1. Section\n\nab\n| x |\n|---|\n| 1 |\n\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
}
