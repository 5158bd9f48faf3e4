package access

import (
	"net/url"
	"sort"
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
	var pairs []kv
	for rest := q; rest != ""; {
		var piece string
		piece, rest = nextPiece(rest)
		if piece == "" {
			continue
		}
		rk, rv, _ := strings.Cut(piece, "=")
		k, err := url.QueryUnescape(rk)
		if err != nil {
			return "", err
		}
		v, err := url.QueryUnescape(rv)
		if err != nil {
			return "", err
		}
		if k != skip {
			pairs = append(pairs, kv{url.QueryEscape(k), url.QueryEscape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
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

// appendQuery adds piece to q.
func appendQuery(q, piece string) string {
	if q == "" {
		return piece
	}
	return q + "&" + piece
}
