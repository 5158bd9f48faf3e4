package access

import (
	"net/url"
	"slices"
	"strings"
)

// Raw-query helpers. They work on the escaped query as the client sent it, so that everything
// not ours reaches the cache key and the origin byte for byte, in its order.

// keyIs reports whether the raw (escaped) key of one query piece names param. An escaped spelling
// (auth%5Fkey) counts too, so a client cannot slip a second signing parameter past us that the
// origin would decode into the same name.
func keyIs(rawKey, param string) bool {
	if rawKey == param {
		return true
	}
	if !strings.ContainsAny(rawKey, "%+") {
		return false
	}
	k, err := url.QueryUnescape(rawKey)
	return err == nil && k == param
}

// nextPiece splits the first '&'-separated piece off q.
func nextPiece(q string) (piece, rest string) {
	piece, rest, _ = strings.Cut(q, "&")
	return piece, rest
}

// findParam returns the raw value of param in q and how many times it occurs.
func findParam(q, param string) (raw string, n int) {
	for q != "" {
		var piece string
		piece, q = nextPiece(q)
		k, v, _ := strings.Cut(piece, "=")
		if keyIs(k, param) {
			raw, n = v, n+1
		}
	}
	return raw, n
}

// stripParams returns q without the pieces naming any of params, keeping every other piece, empty
// ones included, byte for byte and in order: what is not ours is not ours to normalise.
func stripParams(q string, params ...string) string {
	if !hasAnyParam(q, params...) {
		return q
	}
	var b strings.Builder
	first := true
	for rest, more := q, true; more; {
		var piece string
		piece, rest, more = strings.Cut(rest, "&")
		if pieceNames(piece, params) {
			continue
		}
		if !first {
			b.WriteByte('&')
		}
		first = false
		b.WriteString(piece)
	}
	return b.String()
}

func pieceNames(piece string, params []string) bool {
	k, _, _ := strings.Cut(piece, "=")
	for _, p := range params {
		if keyIs(k, p) {
			return true
		}
	}
	return false
}

// hasAnyParam reports whether q carries any of params.
func hasAnyParam(q string, params ...string) bool {
	for rest := q; rest != ""; {
		var piece string
		piece, rest = nextPiece(rest)
		if pieceNames(piece, params) {
			return true
		}
	}
	return false
}

// canonicalQuery is the form the HMAC type signs: every piece except skip, decoded and re-encoded
// with url.QueryEscape (so equivalent spellings sign alike), sorted by key then value, joined
// with '&'. An undecodable piece is an error: we will not sign or verify bytes whose meaning the
// origin might read differently.
func canonicalQuery(q, skip string) (string, error) {
	type kv struct{ k, v string }
	var stack [16]kv
	pairs, size := stack[:0], 0
	for rest := q; rest != ""; {
		var piece string
		piece, rest = nextPiece(rest)
		if piece == "" {
			continue
		}
		rk, rv, _ := strings.Cut(piece, "=")
		k, err := canonicalComponent(rk)
		if err != nil {
			return "", err
		}
		v, err := canonicalComponent(rv)
		if err != nil {
			return "", err
		}
		if k != skip {
			pairs = append(pairs, kv{k, v})
			size += len(k) + len(v) + 2
		}
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	b.Grow(size)
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String(), nil
}

// canonicalComponent is url.QueryEscape(url.QueryUnescape(raw)), without allocating for the
// common case of a component made only of unreserved characters (which both leave unchanged).
// skip is compared against this form, which is the name itself for the unreserved names we use.
func canonicalComponent(raw string) (string, error) {
	plain := true
	for i := 0; i < len(raw) && plain; i++ {
		c := raw[i]
		plain = isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
	}
	if plain {
		return raw, nil
	}
	s, err := url.QueryUnescape(raw)
	if err != nil {
		return "", err
	}
	return url.QueryEscape(s), nil
}

// appendQuery adds piece to q.
func appendQuery(q, piece string) string {
	if q == "" {
		return piece
	}
	return q + "&" + piece
}
