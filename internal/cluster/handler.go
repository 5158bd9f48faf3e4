package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// Local is what a node serves its peers and lower tiers with. Calls are concurrent.
type Local interface {
	// ServePeer answers a request for the configured domain (GET or HEAD) that another node
	// sent: as a client request would be answered, without the domain's client access rules
	// and, for tier TierPeer, without asking the Picker again (this node is the owner).
	ServePeer(w http.ResponseWriter, r *http.Request, domain, tier string)
	// Purge applies a purge on this node only.
	Purge(p purge.Purge) (purge.Result, error)
}

// purgePath is where peers send purges.
const purgePath = "/_pixcdn/purge"

// Handler is the peer endpoint: every request is signed by a node or tier that holds the
// secret; a request that passed through this node already (its Via) is a loop and refused.
func (c *Cluster) Handler(local Local) http.Handler {
	via := "1.1 " + c.cfg.Node
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, err := c.sign.verify(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		for _, v := range r.Header.Values("Via") {
			for _, hop := range strings.Split(v, ",") {
				if strings.TrimSpace(hop) == via {
					http.Error(w, "cluster: request loop through "+c.cfg.Node, http.StatusLoopDetected)
					return
				}
			}
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == purgePath:
			c.servePurge(w, r, local, from)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			tier := r.Header.Get(TierHeader)
			if tier != TierPeer && tier != TierChild {
				http.Error(w, "cluster: unknown tier", http.StatusBadRequest)
				return
			}
			local.ServePeer(w, r, r.Header.Get(DomainHeader), tier)
		default:
			http.Error(w, "cluster: method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

func (c *Cluster) servePurge(w http.ResponseWriter, r *http.Request, local Local, from string) {
	var p purge.Purge
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&p); err != nil {
		http.Error(w, "bad purge: "+err.Error(), http.StatusBadRequest)
		return
	}
	res, err := local.Purge(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.log.Debug("cluster: purge from a peer", "from", from, "id", p.ID, "applied", res.Applied)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// PeerPurge is one peer's answer to a purge this node sent it.
type PeerPurge struct {
	Node   string
	Result purge.Result
	Err    error
}

// Broadcast sends a purge (applied here already) to every other live member and waits, at
// most timeout, for their answers. Each applies it once, whoever sent it first.
func (c *Cluster) Broadcast(ctx context.Context, p purge.Purge, timeout time.Duration) []PeerPurge {
	body, err := json.Marshal(p)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v := c.view.Load()
	out := make([]PeerPurge, 0, len(v.links))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range v.links {
		if l == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pp := PeerPurge{Node: l.name}
			pp.Result, pp.Err = l.purge(ctx, body)
			mu.Lock()
			out = append(out, pp)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (l *link) purge(ctx context.Context, body []byte) (purge.Result, error) {
	u := *l.base
	u.Path = purgePath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return purge.Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	l.sign.sign(req, l.self)
	resp, err := l.client.Do(req)
	if err != nil {
		return purge.Result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return purge.Result{}, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	var res purge.Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return purge.Result{}, errors.Join(errors.New("unreadable purge result"), err)
	}
	return res, nil
}
