package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pixcdn/pixcdn/internal/control"
	"github.com/pixcdn/pixcdn/internal/livestats"
)

// followControl takes the nodes, the domains and the nodes' load from the control plane every
// second. While it does not answer, the router goes on with what it last had.
func (r *Router) followControl() {
	defer r.wg.Done()
	var version uint64
	var domains []string
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if v, ds, err := r.controlDomains(version); err != nil {
			r.log.Warn("router: control plane configuration", "err", err)
		} else if v != version {
			version, domains = v, ds
		}
		if nodes, err := r.controlNodes(); err != nil {
			r.log.Warn("router: control plane nodes", "err", err)
		} else {
			r.mu.Lock()
			r.setTopologyLocked(topologyOf(nodes, domains, r.cfg))
			r.applyLoadsLocked(r.controlLoads())
			r.rebuildLocked()
			r.mu.Unlock()
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Router) controlGet(path string, v any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(r.cfg.Control, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.ControlToken)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.Header, fmt.Errorf("%s: %s", path, resp.Status)
	}
	return resp.Header, json.NewDecoder(resp.Body).Decode(v)
}

// controlDomains reads the current version's domain names (and aliases) when it changed.
func (r *Router) controlDomains(have uint64) (uint64, []string, error) {
	var cur struct {
		Version uint64 `json:"version"`
		YAML    string `json:"yaml"`
	}
	if _, err := r.controlGet("/api/config", &cur); err != nil {
		return have, nil, err
	}
	if cur.Version == have {
		return have, nil, nil
	}
	var doc struct {
		Domains []struct {
			Name    string   `yaml:"name"`
			Aliases []string `yaml:"aliases"`
		} `yaml:"domains"`
	}
	if err := yaml.Unmarshal([]byte(cur.YAML), &doc); err != nil {
		return have, nil, fmt.Errorf("version %d: %w", cur.Version, err)
	}
	var names []string
	for _, d := range doc.Domains {
		names = append(names, strings.ToLower(d.Name))
		for _, a := range d.Aliases {
			names = append(names, strings.ToLower(a))
		}
	}
	return cur.Version, names, nil
}

func (r *Router) controlNodes() ([]control.NodeView, error) {
	var ans struct {
		Nodes []control.NodeView `json:"nodes"`
	}
	_, err := r.controlGet("/api/nodes", &ans)
	return ans.Nodes, err
}

func (r *Router) controlLoads() map[string]load {
	var s livestats.Summary
	if _, err := r.controlGet("/api/stats?format=latest", &s); err != nil {
		r.log.Debug("router: control plane stats", "err", err)
		return nil
	}
	out := make(map[string]load, len(s.Nodes))
	for name, n := range s.Nodes {
		iv := max(n.Interval, 1e-3)
		out[name] = load{rps: float64(n.Requests) / iv, mbps: float64(n.Bytes) * 8 / 1e6 / iv, cpu: n.CPUPercent}
	}
	return out
}

// applyLoadsLocked moves each node's load state by its last second.
func (r *Router) applyLoadsLocked(loads map[string]load) {
	if loads == nil || r.top == nil {
		return
	}
	for _, p := range r.top.POPs {
		for i := range p.Nodes {
			n := &p.Nodes[i]
			if h := r.health[n.Name]; h != nil {
				if h.loadResult(loads[n.Name], n) {
					r.log.Info("router: node load", "node", n.Name, "overloaded", h.loaded)
				}
			}
		}
	}
}

// topologyOf turns the control plane's node list into POPs: each node's advertised addresses,
// its admin /readyz as its probe, its HTTP port in the 302 Location.
func topologyOf(nodes []control.NodeView, domains []string, cfg Config) *Topology {
	top := &Topology{Domains: domains}
	byPOP := map[string]int{}
	for _, v := range nodes {
		n := Node{Name: v.Node, Weight: 1, MaxRPS: cfg.MaxRPS, MaxMbps: cfg.MaxMbps, MaxCPU: cfg.MaxCPU}
		for _, a := range v.Advertise {
			if ip, err := netip.ParseAddr(a); err == nil {
				if ip.Is4() || ip.Is4In6() {
					n.V4 = ip.Unmap()
				} else {
					n.V6 = ip
				}
			}
		}
		if !n.V4.IsValid() && !n.V6.IsValid() {
			continue // nothing to answer with
		}
		if _, port, err := net.SplitHostPort(v.HTTP); err == nil && port != "80" {
			n.URL = cfg.HTTPScheme + "://{node}.{domain}.{zone}:" + port
		}
		if v.Admin == "" && !v.Live {
			continue // no probe to ask, and the control plane has not heard from it
		}
		if host, port, err := net.SplitHostPort(v.Admin); err == nil {
			if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
				host = firstAddr(n)
			}
			n.Health = "http://" + net.JoinHostPort(host, port) + "/readyz"
		}
		i, ok := byPOP[v.POP]
		if !ok {
			i = len(top.POPs)
			byPOP[v.POP] = i
			top.POPs = append(top.POPs, POP{Name: v.POP})
		}
		top.POPs[i].Nodes = append(top.POPs[i].Nodes, n)
	}
	slices.SortFunc(top.POPs, func(a, b POP) int { return strings.Compare(a.Name, b.Name) })
	return top
}

func firstAddr(n Node) string {
	if n.V4.IsValid() {
		return n.V4.String()
	}
	return n.V6.String()
}
