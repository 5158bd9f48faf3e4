package control

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnOptions say how to reach NATS: the embedded server of the control plane or an external
// cluster.
type ConnOptions struct {
	URLs     string // nats://host:port[,nats://...]; tls:// for TLS
	Name     string // the client's name, shown by the server
	User     string
	Password string
	Token    string
	CA       string // PEM file of the servers' CA
	Cert     string // client certificate and key (PEM files), for servers that verify clients
	Key      string
	Logger   *slog.Logger
	// OnReconnect is called after every reconnection (subscriptions resume by themselves;
	// watches and consumers are re-established by the caller).
	OnReconnect func()
}

// Connect dials NATS and keeps reconnecting forever: a control plane or node that loses
// NATS goes on serving and picks up where it was. It returns at once, even when no server
// answers yet (the connection is then in its reconnecting state).
func Connect(o ConnOptions) (*nats.Conn, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.Timeout(2 * time.Second),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("control: NATS disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("control: NATS reconnected", "server", nc.ConnectedUrlRedacted())
			if o.OnReconnect != nil {
				o.OnReconnect()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("control: NATS", "err", err)
		}),
	}
	switch {
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.CA != "" || o.Cert != "" {
		tc, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(o.URLs, opts...)
	if err != nil {
		return nil, fmt.Errorf("control: NATS %s: %w", o.URLs, err)
	}
	return nc, nil
}

func tlsConfig(o ConnOptions) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CA != "" {
		pem, err := os.ReadFile(o.CA)
		if err != nil {
			return nil, fmt.Errorf("control: NATS CA: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("control: NATS CA %s: no certificate in it", o.CA)
		}
	}
	if o.Cert != "" {
		kp, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("control: NATS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return tc, nil
}

// WaitConnected waits up to d for nc to be connected.
func WaitConnected(nc *nats.Conn, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // a poll: nats.go has no "connected" channel
	}
	return true
}
