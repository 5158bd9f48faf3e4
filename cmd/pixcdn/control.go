package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pixcdn/pixcdn/internal/control"
)

const controlUsage = `usage: pixcdn control -data DIR [-listen HOST:PORT] [-token TOKEN] [-nats-listen HOST:PORT | -nats URL]

Runs the control plane: the domains' configuration (versions, history, rollback), purges and
prefetches fanned out to every node with their acknowledgements, and the nodes' live stats, over
NATS JetStream. By default it runs its own NATS server (storing under -data); -nats uses an
external NATS cluster instead. Edges join with: pixcdn edge ... -node-name NAME -nats URL.
`

// controlFlags are the flags of "pixcdn control".
type controlFlags struct {
	listen, data, token, natsListen, natsToken string
	nats, natsUser, natsPassword, natsCA       string
	natsCert, natsKey, logLevel                string
	replicas                                   int
}

func cmdControl(args []string, stdout, stderr io.Writer) int {
	var f controlFlags
	fs := flag.NewFlagSet("pixcdn control", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, controlUsage); fs.PrintDefaults() }
	fs.StringVar(&f.listen, "listen", "127.0.0.1:7070", "the API's listen `HOST:PORT`")
	fs.StringVar(&f.data, "data", "", "data `DIR` of the embedded NATS server (JetStream storage)")
	fs.StringVar(&f.token, "token", "", "bearer `TOKEN` of the API (default $PIXCDN_CONTROL_TOKEN)")
	fs.StringVar(&f.natsListen, "nats-listen", "127.0.0.1:4222", "the embedded NATS server's client `HOST:PORT`")
	fs.StringVar(&f.natsToken, "nats-token", "", "`TOKEN` NATS clients (edges) must present (default $PIXCDN_NATS_TOKEN; needed off loopback)")
	fs.StringVar(&f.nats, "nats", "", "an external NATS cluster `URL[,URL...]` instead of the embedded server")
	fs.StringVar(&f.natsUser, "nats-user", "", "with -nats: NATS user")
	fs.StringVar(&f.natsPassword, "nats-password", "", "with -nats: NATS password (default $PIXCDN_NATS_PASSWORD)")
	fs.StringVar(&f.natsCA, "nats-ca", "", "with -nats: CA `FILE` of the NATS servers' certificates")
	fs.StringVar(&f.natsCert, "nats-cert", "", "with -nats: client certificate `FILE`")
	fs.StringVar(&f.natsKey, "nats-key", "", "with -nats: client key `FILE`")
	fs.IntVar(&f.replicas, "replicas", 1, "with -nats: replicas of the buckets and the purge stream (3 on a 3-node cluster)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pixcdn control: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg := f.config(stderr)
	if cfg.Token == "" {
		fmt.Fprintln(stderr, "pixcdn control: the API needs a token: -token TOKEN or $PIXCDN_CONTROL_TOKEN")
		return 2
	}
	s, err := control.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "pixcdn control:", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintf(stdout, "control plane: API http://%s  NATS %s\n", s.Addr(), s.NATSURL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return 0
}

func (f *controlFlags) config(stderr io.Writer) control.Config {
	env := func(v, name string) string {
		if v == "" {
			v = os.Getenv(name)
		}
		return v
	}
	var level slog.Level
	level.UnmarshalText([]byte(f.logLevel))
	return control.Config{
		Listen: f.listen, Token: env(f.token, envControlToken), DataDir: f.data,
		NATS: f.nats, NATSListen: f.natsListen, NATSToken: env(f.natsToken, "PIXCDN_NATS_TOKEN"),
		Conn: control.ConnOptions{User: f.natsUser, Password: env(f.natsPassword, "PIXCDN_NATS_PASSWORD"),
			Token: env(f.natsToken, "PIXCDN_NATS_TOKEN"), CA: f.natsCA, Cert: f.natsCert, Key: f.natsKey},
		Replicas: f.replicas,
		Logger:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
}
