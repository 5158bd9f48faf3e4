package origin

import "time"

// ServerHealth is the passive health of one server of an HTTP origin, for metrics and admin.
type ServerHealth struct {
	URL                 string
	Priority, Weight    int
	Up                  bool // fewer than FailThreshold consecutive failures
	ConsecutiveFailures int
	DownUntil           time.Time // when a down server gets its trial request; zero when up
	LastError           string    // the most recent failure, kept after recovery; "" if none
	LastErrorAt         time.Time
}

// Health reports every server in configuration order.
func (h *HTTP) Health() []ServerHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]ServerHealth, len(h.servers))
	for i, u := range h.servers {
		out[i] = ServerHealth{
			URL:                 u.cfg.URL,
			Priority:            u.cfg.Priority,
			Weight:              u.cfg.Weight,
			Up:                  u.fails < h.cfg.FailThreshold,
			ConsecutiveFailures: u.fails,
			DownUntil:           u.downUntil,
			LastError:           u.lastErr,
			LastErrorAt:         u.lastErrAt,
		}
	}
	return out
}

// pick chooses the next server for a request that already tried the servers in *tried: the
// lowest priority level with a usable server, smooth weighted round robin inside it. A down
// server whose cooldown has passed is usable by exactly one request at a time (the trial).
func (h *HTTP) pick(tried *uint64) (u *upstream, trial bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	for _, level := range h.levels {
		if u = h.pickInLevel(level, *tried, now); u != nil {
			*tried |= 1 << u.idx
			if trial = u.fails >= h.cfg.FailThreshold; trial {
				u.trial = true
			}
			return u, trial
		}
	}
	return nil, false
}

// pickInLevel is nginx's smooth weighted round robin: every candidate gains its weight, the
// largest counter wins and pays back the total. Weights 5,1,1 give a a b a c a a.
func (h *HTTP) pickInLevel(level []*upstream, tried uint64, now time.Time) *upstream {
	var best *upstream
	total := 0
	for _, u := range level {
		if tried&(1<<u.idx) != 0 || !h.usable(u, now) {
			continue
		}
		u.current += u.cfg.Weight
		total += u.cfg.Weight
		if best == nil || u.current > best.current {
			best = u
		}
	}
	if best != nil {
		best.current -= total
	}
	return best
}

func (h *HTTP) usable(u *upstream, now time.Time) bool {
	return u.fails < h.cfg.FailThreshold || (!u.trial && !now.Before(u.downUntil))
}

type outcome int

const (
	outcomeSuccess outcome = iota
	outcomeFailure
	outcomeNeutral // the client gave up: nothing learnt about the server
)

// settle records the result of one request to u and ends its trial, if it was one.
func (h *HTTP) settle(u *upstream, trial bool, o outcome, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if trial {
		u.trial = false
	}
	switch o {
	case outcomeSuccess:
		u.fails = 0
		u.downUntil = time.Time{}
	case outcomeFailure:
		now := h.cfg.Now()
		u.fails++
		u.lastErr, u.lastErrAt = err.Error(), now
		if u.fails >= h.cfg.FailThreshold {
			u.downUntil = now.Add(h.cfg.FailCooldown)
		}
	}
}
