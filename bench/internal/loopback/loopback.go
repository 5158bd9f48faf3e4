// Package loopback hands out free TCP ports on 127.0.0.1, where every benchmark server
// listens, and waits for a server there to answer.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

var handed struct {
	sync.Mutex
	m map[int]bool
}

// FreePort is a loopback port nothing listens on, not handed out before by this process. It
// comes from below the kernel's ephemeral range (ip_local_port_range), where no outgoing
// connection can be holding it when the server binds it a moment later.
func FreePort() (int, error) {
	low := ephemeralLow()
	handed.Lock()
	defer handed.Unlock()
	if handed.m == nil {
		handed.m = map[int]bool{}
	}
	for range 200 {
		p := 10000 + rand.IntN(low-10000)
		if handed.m[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		handed.m[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("loopback: no free port")
}

// Addr is FreePort as "127.0.0.1:PORT".
func Addr() (string, error) {
	p, err := FreePort()
	return fmt.Sprintf("127.0.0.1:%d", p), err
}

func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	var low int
	if err == nil {
		fmt.Sscan(strings.TrimSpace(string(data)), &low)
	}
	if low <= 11000 {
		low = 32768
	}
	return low
}

// WaitHTTP waits until url answers 2xx, or until limit, or until exited reports true (the
// server died; nil: never). The error says what the last attempt got.
func WaitHTTP(url string, limit time.Duration, exited func() bool) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if exited != nil && exited() {
			return fmt.Errorf("%s: the server exited (%v)", url, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not come up in %v: %v", url, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
