package router

import "net/netip"

// prefixTrie maps IP prefixes to values; a lookup returns the value of the longest prefix
// that contains the address. A plain binary trie in one slice: at most 32 or 128 steps, no
// allocation, and it is built once per reload.
type prefixTrie struct {
	nodes []trieNode
}

type trieNode struct {
	child [2]int32 // 0 = none (node 0 is the root, never a child)
	val   int32    // -1 = no prefix ends here
}

func newPrefixTrie() *prefixTrie { return &prefixTrie{nodes: []trieNode{{val: -1}}} }

// insert maps p (masked) to val; a prefix inserted twice keeps the last value.
func (t *prefixTrie) insert(p netip.Prefix, val int32) {
	p = p.Masked()
	a := p.Addr().AsSlice()
	n := int32(0)
	for i := range p.Bits() {
		b := a[i/8] >> (7 - i%8) & 1
		if t.nodes[n].child[b] == 0 {
			t.nodes = append(t.nodes, trieNode{val: -1})
			t.nodes[n].child[b] = int32(len(t.nodes) - 1)
		}
		n = t.nodes[n].child[b]
	}
	t.nodes[n].val = val
}

// lookup returns the value of the longest prefix containing a and that prefix's length, or
// -1 when none does.
func (t *prefixTrie) lookup(a netip.Addr) (val int32, bits int) {
	val, bits = t.nodes[0].val, 0
	var buf [16]byte
	var b []byte
	if a.Is4() {
		b4 := a.As4()
		copy(buf[:4], b4[:])
		b = buf[:4]
	} else {
		buf = a.As16()
		b = buf[:]
	}
	n := int32(0)
	for i := range len(b) * 8 {
		c := t.nodes[n].child[b[i/8]>>(7-i%8)&1]
		if c == 0 {
			break
		}
		n = c
		if v := t.nodes[n].val; v >= 0 {
			val, bits = v, i+1
		}
	}
	return val, bits
}
