package main

import (
	"testing"
	"time"
)

func TestURLs(t *testing.T) {
	c := workloads[1]
	if got, want := pixcdnURL("http://p")(c, 7), "http://p/photo.jpg?w=300&fm=webp&q=80&cb=7"; got != want {
		t.Errorf("pixcdn: %s, want %s", got, want)
	}
	a := workloads[0]
	if got, want := imgproxyURL("http://i")(a, 9), "http://i/_/rs:fit:300:0/q:80/cb:9/plain/local:///photo.jpg@jpg"; got != want {
		t.Errorf("imgproxy: %s, want %s", got, want)
	}
}

func TestPickCases(t *testing.T) {
	cs, err := pickCases("d,a")
	if err != nil || len(cs) != 2 || cs[0].name != "d-png-alpha-webp-512" || cs[1].name != "a-jpeg-300" {
		t.Fatalf("pickCases(d,a) = %v, %v", cs, err)
	}
	if _, err := pickCases("a,e"); err == nil {
		t.Error("unknown case accepted")
	}
}

func TestMedianAndRatios(t *testing.T) {
	m := func(cpu time.Duration, n int64) measure { return measure{cpu: cpu, images: n, elapsed: time.Second} }
	ms := []measure{m(300*time.Millisecond, 10), m(100*time.Millisecond, 10), m(200*time.Millisecond, 10)}
	if got := median(ms); got != 20 {
		t.Errorf("median = %v ms, want 20", got)
	}
	if got := median(ms[:2]); got != 20 {
		t.Errorf("median of two = %v ms, want their mean 20", got)
	}
	if got := (measure{}).cpuPerImage(); got != 0 {
		t.Errorf("no images: %v", got)
	}
}
