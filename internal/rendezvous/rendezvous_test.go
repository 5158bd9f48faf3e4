package rendezvous

import (
	"fmt"
	"math"
	"testing"
)

func names(n int) []Node {
	ns := make([]Node, n)
	for i := range ns {
		ns[i] = Node{Name: fmt.Sprintf("node-%d", i)}
	}
	return ns
}

func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("img.example.com/p/%d.jpg?w=%d", i, i%7*100)
	}
	return ks
}

// TestBalance: each of N equal nodes owns about 1/N of the keys.
func TestBalance(t *testing.T) {
	for _, n := range []int{2, 3, 5, 20} {
		s := New(names(n))
		count := make([]int, n)
		ks := keys(100_000)
		for _, k := range ks {
			count[s.Owner(k)]++
		}
		want := float64(len(ks)) / float64(n)
		for i, c := range count {
			if math.Abs(float64(c)-want)/want > 0.05 {
				t.Errorf("%d nodes: node %d owns %d keys, want %.0f ± 5 %%", n, i, c, want)
			}
		}
	}
}

// TestMinimalMovement: when a node leaves only its keys move, and spread over the rest; when it
// comes back, exactly those keys return.
func TestMinimalMovement(t *testing.T) {
	all := New(names(4))
	without := New(names(4)[:3]) // node-3 gone
	moved, kept := 0, 0
	spread := map[string]int{}
	for _, k := range keys(50_000) {
		before, after := all.OwnerName(k), without.OwnerName(k)
		switch {
		case before == "node-3":
			moved++
			spread[after]++
		case before != after:
			t.Fatalf("%s moved from %s to %s though its owner stayed", k, before, after)
		default:
			kept++
		}
	}
	if share := float64(moved) / 50_000; math.Abs(share-0.25) > 0.02 {
		t.Errorf("moved %.3f of the keys, want about 1/4", share)
	}
	for name, c := range spread {
		if math.Abs(float64(c)/float64(moved)-1.0/3) > 0.03 {
			t.Errorf("%s took %d of %d moved keys: not evenly spread", name, c, moved)
		}
	}
}

// TestWeights: owners in proportion to weight.
func TestWeights(t *testing.T) {
	s := New([]Node{{Name: "a", Weight: 1}, {Name: "b", Weight: 2}, {Name: "c", Weight: 1}})
	count := map[string]int{}
	for _, k := range keys(100_000) {
		count[s.OwnerName(k)]++
	}
	if r := float64(count["b"]) / float64(count["a"]); r < 1.85 || r > 2.15 {
		t.Errorf("weight 2 / weight 1 owns %.2f as many keys (%v)", r, count)
	}
}

// TestOrderAndDuplicates: the answer does not depend on the order nodes are given in; a name
// given twice counts once.
func TestOrderAndDuplicates(t *testing.T) {
	a := New([]Node{{Name: "x"}, {Name: "y"}, {Name: "z"}})
	b := New([]Node{{Name: "z"}, {Name: "x"}, {Name: "y"}, {Name: "x"}})
	if b.Len() != 3 {
		t.Fatalf("len %d", b.Len())
	}
	for _, k := range keys(1000) {
		if a.OwnerName(k) != b.OwnerName(k) {
			t.Fatalf("%s: %s vs %s", k, a.OwnerName(k), b.OwnerName(k))
		}
	}
	if (&Set{}).Owner("k") != -1 || New(nil).OwnerName("k") != "" {
		t.Fatal("an empty set named an owner")
	}
}

// TestRanked: the first of the ranking is the owner, the second is who owns the key once the
// owner is gone, and every node appears once.
func TestRanked(t *testing.T) {
	ns := names(5)
	s := New(ns)
	for _, k := range keys(2000) {
		r := s.Ranked(nil, k, 5)
		if len(r) != 5 || r[0] != s.Owner(k) {
			t.Fatalf("%s: ranked %v, owner %d", k, r, s.Owner(k))
		}
		seen := map[int]bool{}
		for _, i := range r {
			if seen[i] {
				t.Fatalf("%s: %v repeats", k, r)
			}
			seen[i] = true
		}
		var rest []Node
		for _, n := range s.Nodes() {
			if n.Name != s.Nodes()[r[0]].Name {
				rest = append(rest, n)
			}
		}
		if next := New(rest).OwnerName(k); next != s.Nodes()[r[1]].Name {
			t.Fatalf("%s: second choice %s, owner without the first %s", k, s.Nodes()[r[1]].Name, next)
		}
		if got := s.Ranked(nil, k, 2); len(got) != 2 || got[0] != r[0] || got[1] != r[1] {
			t.Fatalf("%s: top 2 %v of %v", k, got, r)
		}
	}
}

func FuzzOwner(f *testing.F) {
	f.Add("img.example.com/a.jpg", uint8(3))
	f.Add("", uint8(1))
	f.Fuzz(func(t *testing.T, key string, n uint8) {
		s := New(names(int(n%32) + 1))
		o := s.Owner(key)
		if o < 0 || o >= s.Len() {
			t.Fatalf("owner %d of %d", o, s.Len())
		}
		if r := s.Ranked(nil, key, s.Len()); r[0] != o || len(r) != s.Len() {
			t.Fatalf("ranked %v, owner %d", r, o)
		}
	})
}

func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{3, 20} {
		s := New(names(n))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.Owner("img.example.com/p/123456.jpg?w=300")
			}
		})
	}
}
