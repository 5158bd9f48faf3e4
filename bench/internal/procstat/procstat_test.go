package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name, in string
		want     Mem
		ok       bool
	}{
		{"linux", "Name:\tpixcdn\nVmPeak:\t 9 kB\nVmHWM:\t   2048 kB\nVmRSS:\t    1024 kB\nRssAnon:\t  1000 kB\nRssFile:\t    24 kB\nThreads:\t7\n",
			Mem{RSS: 1 << 20, HWM: 2 << 20, Anon: 1000 << 10, File: 24 << 10}, true},
		{"before linux 4.5", "VmHWM:\t2 kB\nVmRSS:\t1 kB\n", Mem{RSS: 1 << 10, HWM: 2 << 10}, true},
		{"missing HWM", "VmRSS:\t1 kB\n", Mem{}, false},
		{"kernel thread", "Name:\tkthreadd\n", Mem{}, false},
		{"bad unit", "VmRSS:\t1 MB\nVmHWM:\t1 kB\n", Mem{}, false},
		{"bad number", "VmRSS:\tx kB\nVmHWM:\t1 kB\n", Mem{}, false},
	}
	for _, tt := range tests {
		got, err := Parse(strings.NewReader(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v ok=%v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestReadMemOfThisProcess(t *testing.T) {
	m, err := Read("/proc", os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if m.RSS <= 0 || m.HWM <= 0 { // VmHWM is updated lazily: it may read a little below VmRSS
		t.Errorf("implausible %+v", m)
	}
}
