package control

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is the NATS server the control plane runs in its own process by default, with
// JetStream storing under the control plane's data directory: one command runs a whole
// control plane. An operator who outgrows one machine points everything at an external NATS
// cluster instead (docs/deployment.md).
type Embedded struct {
	ns *server.Server
}

// EmbeddedConfig configures the embedded server.
type EmbeddedConfig struct {
	Listen string // client listen address host:port; default 127.0.0.1:4222
	Dir    string // JetStream storage; required
	Token  string // token every client must present; "" only on a loopback address
	Name   string // server name; default "pixcdn-control"
}

// StartEmbedded starts the server and waits until it accepts connections.
func StartEmbedded(c EmbeddedConfig) (*Embedded, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:4222"
	}
	if c.Name == "" {
		c.Name = "pixcdn-control"
	}
	if c.Dir == "" {
		return nil, errors.New("control: embedded NATS needs a data directory")
	}
	host, portStr, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return nil, fmt.Errorf("control: NATS listen %q: %w", c.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("control: NATS listen %q: bad port", c.Listen)
	}
	if c.Token == "" && !isLoopbackHost(host) {
		return nil, fmt.Errorf("control: NATS listen %q is not a loopback address and no NATS token is set", c.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: c.Name, Host: host, Port: port,
		JetStream: true, StoreDir: filepath.Join(c.Dir, "jetstream"),
		Authorization: c.Token,
		NoSigs:        true, NoLog: true,
		MaxPayload: 8 << 20, // a domains document of thousands of domains
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("control: NATS: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("control: NATS did not start on %s", c.Listen)
	}
	return &Embedded{ns: ns}, nil
}

// URL is the address clients dial, e.g. nats://127.0.0.1:4222.
func (e *Embedded) URL() string { return e.ns.ClientURL() }

// Close stops the server and waits for it to finish writing.
func (e *Embedded) Close() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
