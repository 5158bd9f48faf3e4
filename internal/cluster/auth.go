package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a peer request's signature: "NODE UNIX-SECONDS HEX-HMAC".
const SignatureHeader = "X-Pixcdn-Peer"

// maxSkew is how far a signature's time may be from the receiver's clock.
const maxSkew = 5 * time.Minute

// signer signs and verifies peer requests with the cluster secret.
type signer struct {
	key []byte
	now func() time.Time
}

// mac is the signature of a request line by node at unix second ts.
func (s *signer) mac(node string, ts int64, method, host, uri string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%d\n%s\n%s\n%s", node, ts, method, host, uri)
	return hex.EncodeToString(m.Sum(nil))
}

// sign adds the signature of node to req.
func (s *signer) sign(req *http.Request, node string) {
	ts := s.now().Unix()
	req.Header.Set(SignatureHeader, node+" "+strconv.FormatInt(ts, 10)+" "+s.mac(node, ts, req.Method, req.Host, req.URL.RequestURI()))
}

var errUnsigned = errors.New("cluster: missing or bad peer signature")

// verify checks r's signature and returns the node that signed it.
func (s *signer) verify(r *http.Request) (string, error) {
	parts := strings.Fields(r.Header.Get(SignatureHeader))
	if len(parts) != 3 {
		return "", errUnsigned
	}
	ts, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", errUnsigned
	}
	if skew := s.now().Sub(time.Unix(ts, 0)); skew > maxSkew || skew < -maxSkew {
		return "", fmt.Errorf("%w: signed %v away from this node's clock", errUnsigned, skew.Round(time.Second))
	}
	want := s.mac(parts[0], ts, r.Method, r.Host, r.URL.RequestURI())
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return "", errUnsigned
	}
	return parts[0], nil
}

// gossipKey derives the gossip's AES-256 key from the secret (a different use of it than
// signing, so one never reveals the other).
func gossipKey(secret string) []byte {
	sum := sha256.Sum256([]byte("pixcdn gossip\x00" + secret))
	return sum[:]
}
