package livestats

import (
	"fmt"
	"testing"
	"time"
)

func TestTopURLs(t *testing.T) {
	r := NewRecorder()
	// A heavy URL among thousands of rare ones stays on top; the counts come back scaled.
	for i := range 8000 {
		r.URL("img.example.com", "/hot.jpg", 100)
		if i%2 == 0 {
			r.URL("img.example.com", "/warm.jpg", 10)
		}
		r.URL("img.example.com", fmt.Sprintf("/rare-%d.jpg", i), 1)
	}
	top := r.Sample(time.Now()).TopURLs
	if len(top) == 0 || top[0].URL != "img.example.com/hot.jpg" || top[1].URL != "img.example.com/warm.jpg" {
		t.Fatalf("top %+v", top)
	}
	if top[0].Requests < 7000 || top[0].Requests > 9000 || top[0].Bytes < 700000 {
		t.Errorf("hot.jpg estimated at %+v, want about 8000 requests", top[0])
	}
	if again := r.Sample(time.Now()).TopURLs; len(again) != 0 {
		t.Errorf("the next interval starts empty: %+v", again)
	}
	merged := mergeTop([][]URLCount{{{URL: "a", Requests: 5}, {URL: "b", Requests: 4}}, {{URL: "b", Requests: 3}}}, 10)
	if len(merged) != 2 || merged[0].URL != "b" || merged[0].Requests != 7 {
		t.Errorf("merged %+v", merged)
	}
}

func BenchmarkRecorderURL(b *testing.B) {
	r := NewRecorder()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.URL("img.example.com", "/a.jpg", 1000)
		}
	})
}
