package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pixcdn/pixcdn/internal/control"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// The reference: the control plane's fan-out without the control plane and without the edges'
// work. A bare NATS server (control.StartEmbedded: the very options the control plane runs its
// own with, JetStream on a temp dir), one connection per subscriber; a publisher sends one
// purge (the same JSON) and waits for every subscriber's acknowledgement (the same JSON, on
// an ack subject), decoding each as the control plane does.
const (
	refSubject   = "ref.purge"
	refAck       = "ref.purge.ack"
	refReady     = "ref.ready"
	refStream    = "REF_PURGE"
	refAckWait   = 5 * time.Second
	roleConsumer = "js-consumer"
)

func referenceAll(work string, counts []int, rep *report) error {
	fmt.Printf("## Reference: one message to N subscribers, until every acknowledgement (a bare NATS server, %d messages measured after %d discarded)\n\n", *purges, *warmup)
	fmt.Println("| fan-out | subscribers | p50 | p99 | max | CPU per message (all processes) | incomplete | other CPU % |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	kinds := []string{"core", "js"}
	if *refProcs {
		kinds = append(kinds, "js-procs")
	}
	kinds = append(kinds, "js-mem")
	for _, n := range counts {
		for _, k := range kinds {
			dir, err := os.MkdirTemp(work, "ref-")
			if err != nil {
				return err
			}
			r, err := reference(dir, k, n)
			if err != nil {
				return fmt.Errorf("reference %s with %d: %w", k, n, err)
			}
			rep.ref[refKey{k, n}] = r
			fmt.Printf("| %s | %d | %s | %s | %s | %s | %d | %.0f |\n", refLabel(k), n, msf(r.lat.p50), msf(r.lat.p99), msf(r.lat.max), msf(r.cpu), r.incomplete, r.other)
		}
	}
	fmt.Println()
	return nil
}

func refLabel(k string) string {
	switch k {
	case "core":
		return "core NATS subscribers, in this process"
	case "js":
		return "JetStream stream, durable pull consumers (Consume), in this process"
	case "js-mem":
		return "the same, consumers' state in memory (MemoryStorage), in this process"
	}
	return "JetStream stream, durable pull consumers (Consume), one process each"
}

// reference runs one kind of fan-out with n subscribers on a server of its own.
func reference(dir, kind string, n int) (result, error) {
	emb, err := control.StartEmbedded(control.EmbeddedConfig{Listen: "127.0.0.1:0", Dir: dir, Name: "ref"})
	if err != nil {
		return result{}, err
	}
	defer emb.Close()
	pub, err := nats.Connect(emb.URL())
	if err != nil {
		return result{}, err
	}
	defer pub.Close()
	js, err := jetstream.New(pub)
	if err != nil {
		return result{}, err
	}
	if kind != "core" {
		if err := refStreamCreate(js); err != nil {
			return result{}, err
		}
	}
	stop, kids, err := startSubscribers(emb.URL(), dir, kind, n, pub)
	defer stop()
	if err != nil {
		return result{}, err
	}
	send := func(data []byte, id string) error { return pub.Publish(refSubject, data) }
	if kind != "core" {
		send = func(data []byte, id string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := js.Publish(ctx, refSubject, data, jetstream.WithMsgID(id))
			return err
		}
	}
	return fanOut(pub, send, n, kids)
}

// refStreamCreate makes the stream as control.EnsureTopology makes the purge stream.
func refStreamCreate(js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: refStream, Subjects: []string{refSubject}, Storage: jetstream.FileStorage, Replicas: 1,
		Retention: jetstream.LimitsPolicy, MaxAge: control.PurgeRetention, MaxMsgs: 10_000_000,
		Duplicates: 10 * time.Minute, Discard: jetstream.DiscardOld,
	})
	return err
}

// startSubscribers starts n subscribers and waits until each has said it is ready (on
// refReady, through pub). stop ends them.
func startSubscribers(url, dir, kind string, n int, pub *nats.Conn) (stop func(), kids []*proc, err error) {
	ready, err := pub.SubscribeSync(refReady)
	if err != nil {
		return func() {}, nil, err
	}
	defer ready.Unsubscribe()
	pub.Flush()
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
		stopProcs(kids)
	}
	self, _ := os.Executable()
	for i := range n {
		name := fmt.Sprintf("s%03d", i)
		switch kind {
		case "core":
			s, err := coreSubscriber(url, name)
			if err != nil {
				return stop, kids, err
			}
			stops = append(stops, s)
		case "js", "js-mem":
			s, err := jsConsumer(url, name, kind == "js-mem")
			if err != nil {
				return stop, kids, err
			}
			stops = append(stops, s)
		default:
			p, err := startProc(name, self, filepath.Join(dir, name+".log"), "-role", roleConsumer, "-role-nats", url, "-role-name", name)
			if err != nil {
				return stop, kids, err
			}
			kids = append(kids, p)
		}
	}
	for range n {
		if _, err := ready.NextMsg(30 * time.Second); err != nil {
			return stop, kids, fmt.Errorf("subscribers not ready: %w", err)
		}
	}
	return stop, kids, nil
}

// answer acknowledges one purge as an agent does, without applying it anywhere.
func answer(nc *nats.Conn, name string, data []byte, seq uint64) {
	var p purge.Purge
	if err := json.Unmarshal(data, &p); err != nil {
		return
	}
	res := purge.Result{ID: p.ID, Node: name, Kind: p.Kind, Targets: len(p.Targets), Issued: p.Issued, Applied: true, BanVersion: seq}
	out, _ := json.Marshal(control.PurgeAck{Node: name, POP: "ref", Seq: seq, Result: res})
	nc.Publish(refAck, out)
}

func coreSubscriber(url, name string) (func(), error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Subscribe(refSubject, func(m *nats.Msg) { answer(nc, name, m.Data, 0) }); err != nil {
		nc.Close()
		return nil, err
	}
	nc.Publish(refReady, []byte(name))
	return nc.Close, nc.Flush()
}

// jsConsumer is a durable pull consumer configured as an agent's, consumed the agent's way:
// metadata, decode, Ack, then the acknowledgement on the ack subject. mem keeps the consumer's
// state (delivered and acknowledged positions) in memory rather than written to a file after
// acknowledgements, as a file-backed consumer does at most every 100 ms.
func jsConsumer(url, name string, mem bool) (func(), error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, refStream, jetstream.ConsumerConfig{
		Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 2 * time.Second, MaxDeliver: -1,
		MaxAckPending: 10_000, FilterSubject: refSubject, InactiveThreshold: control.PurgeRetention,
		DeliverPolicy: jetstream.DeliverNewPolicy, MemoryStorage: mem,
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			msg.Term()
			return
		}
		var p purge.Purge
		if json.Unmarshal(msg.Data(), &p) != nil {
			msg.Term()
			return
		}
		msg.Ack()
		answer(nc, name, msg.Data(), meta.Sequence.Stream)
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.Publish(refReady, []byte(name))
	return func() { cc.Stop(); nc.Close() }, nc.Flush()
}

// runRole is a re-executed copy of this program acting as one reference consumer, until
// SIGTERM.
func runRole() int {
	if *role != roleConsumer {
		fmt.Fprintln(os.Stderr, "unknown role", *role)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	end, err := jsConsumer(*roleNATS, *roleName, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-ctx.Done()
	end()
	return 0
}

// fanOut sends warmup+purges messages one at a time and times each until n acknowledgements of
// it have been decoded. CPU counts this process and the child processes kids.
func fanOut(pub *nats.Conn, send func(data []byte, id string) error, n int, kids []*proc) (result, error) {
	acks := make(chan string, 4*n+64)
	sub, err := pub.Subscribe(refAck, func(m *nats.Msg) {
		var a control.PurgeAck
		if json.Unmarshal(m.Data, &a) == nil {
			acks <- a.Result.ID
		}
	})
	if err != nil {
		return result{}, err
	}
	defer sub.Unsubscribe()
	if err := pub.Flush(); err != nil {
		return result{}, err
	}
	var d []time.Duration
	var r result
	var w cpuWindow
	for i := range *warmup + *purges {
		if i == *warmup {
			w = startCPU(kids)
		}
		p := purge.New(purge.URL, []string{fmt.Sprintf("http://img.test/ref/%d.jpg", i)}, false, time.Now())
		data, _ := json.Marshal(p)
		start := time.Now()
		if err := send(data, p.ID); err != nil {
			return result{}, err
		}
		got, complete := 0, true
		timeout := time.After(refAckWait)
	wait:
		for got < n {
			select {
			case id := <-acks:
				if id == p.ID {
					got++
				}
			case <-timeout:
				complete = false
				break wait
			}
		}
		if i < *warmup {
			continue
		}
		if !complete {
			r.incomplete++
		}
		d = append(d, time.Since(start))
	}
	if len(d) == 0 {
		return r, errors.New("nothing measured")
	}
	r.lat = stats(d)
	self, children, other := w.end(kids)
	r.cpu, r.other = (self+children)/time.Duration(len(d)), other
	return r, nil
}
