package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pixcdn/pixcdn/internal/control"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// run keeps a session with the control plane for as long as the agent runs: a session binds
// the purge consumer, watches the configuration and beats; it ends on a reconnection (and is
// set up again from the bucket's revision) or an error (retried after a pause).
func (a *Agent) run() {
	defer a.wg.Done()
	for a.ctx.Err() == nil {
		if !a.nc.IsConnected() {
			a.markDown()
			select {
			case <-a.ctx.Done():
				return
			case <-a.resync:
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		err := a.session()
		if a.ctx.Err() != nil {
			return
		}
		if err != nil {
			a.log.Warn("control: session ended; starting again", "err", err)
			select {
			case <-a.ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (a *Agent) session() error {
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	cons, last, err := a.bindPurges(ctx)
	if err != nil {
		return err
	}
	cc, err := cons.Consume(a.onPurge, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		a.log.Debug("control: purge consumer", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("purge consumer: %w", err)
	}
	defer cc.Stop()
	if err := a.catchUp(ctx, cons, last); err != nil {
		return err
	}
	kv, err := a.js.KeyValue(ctx, control.ConfigBucket)
	if err != nil {
		return fmt.Errorf("configuration bucket: %w", err)
	}
	w, err := kv.Watch(ctx, control.ConfigKey)
	if err != nil {
		return fmt.Errorf("configuration watch: %w", err)
	}
	defer w.Stop()
	a.connected.Store(true)
	a.downSince.Store(0)
	a.putStatus(ctx, control.NodeRunning)
	return a.serve(ctx, w)
}

// serve applies versions as the watch brings them, beats, and publishes live stats, until the
// agent stops, a reconnection asks for a new session, or the watch ends.
func (a *Agent) serve(ctx context.Context, w jetstream.KeyWatcher) error {
	beat := time.NewTicker(a.cfg.Heartbeat)
	defer beat.Stop()
	var stats <-chan time.Time
	if a.cfg.Sample != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		stats = t.C
	}
	subject := control.StatsSubjectPrefix + control.SubjectToken(a.node)
	// The watch's consumer lives on one NATS server; when that server of a cluster dies the
	// watch stalls silently until the client sees missed heartbeats. Reading the key now and
	// then bounds how late a version can be.
	check := time.NewTicker(configCheckEvery)
	defer check.Stop()
	kv, err := a.js.KeyValue(ctx, control.ConfigBucket)
	if err != nil {
		return fmt.Errorf("configuration bucket: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.resync:
			return nil
		case <-check.C:
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			if e, err := kv.Get(cctx, control.ConfigKey); err == nil {
				a.apply(ctx, e.Revision(), e.Value())
			}
			cancel()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("configuration watch ended")
			}
			if e != nil && e.Operation() == jetstream.KeyValuePut {
				a.apply(ctx, e.Revision(), e.Value())
			}
		case <-beat.C:
			a.putStatus(ctx, control.NodeRunning)
			a.saveSeq()
		case now := <-stats:
			if data, err := json.Marshal(a.cfg.Sample(now)); err == nil {
				a.nc.Publish(subject, data)
			}
		}
	}
}

// configCheckEvery is how often the node reads the configuration's key besides its watch.
const configCheckEvery = 2 * time.Second

// apply builds a version the watch brought and swaps it in. Versions are taken in revision
// order: one older than what serves (a watch replaying) or already refused is skipped.
func (a *Agent) apply(ctx context.Context, rev uint64, raw []byte) {
	a.mu.Lock()
	skip := rev <= a.serving || rev == a.failed
	e := a.edge
	a.mu.Unlock()
	if skip {
		return
	}
	start := time.Now()
	a.mu.Lock()
	base := a.cfg.Base
	a.mu.Unlock()
	cfg, doc, err := a.build(base, rev, raw)
	if err == nil {
		err = e.Apply(cfg)
	}
	if err != nil {
		a.refused(rev, err)
	} else {
		a.setServing(rev, cfg, doc)
		a.log.Info("control: configuration applied", "version", rev, "took", time.Since(start))
	}
	a.putStatus(ctx, control.NodeRunning)
	if err == nil {
		a.keep(rev, doc)
	}
}

// putStatus writes the node's status to the nodes bucket.
func (a *Agent) putStatus(ctx context.Context, state string) {
	a.statusMu.Lock()
	defer a.statusMu.Unlock()
	a.mu.Lock()
	st := control.NodeStatus{
		Node: a.node, POP: a.pop, State: state, HTTP: a.cfg.HTTP, HTTPS: a.cfg.HTTPS, Admin: a.cfg.Admin, Advertise: a.advertise(),
		Version: a.serving, ConfigHash: a.hash, Failed: a.failed, FailedError: a.failMsg,
		PurgeSeq: a.purgeSeq.Load(), Started: a.started, Updated: time.Now(),
	}
	a.mu.Unlock()
	data, _ := json.Marshal(st)
	kv, err := a.nodesBucket(ctx)
	if err == nil {
		if _, err = kv.Put(ctx, control.SubjectToken(a.node), data); err != nil {
			a.mu.Lock()
			a.nodesKV = nil // bind again next time: the bucket may have been made anew
			a.mu.Unlock()
		}
	}
	if err != nil && ctx.Err() == nil {
		a.log.Warn("control: status", "err", err)
	}
}

// nodesBucket binds the nodes bucket once: binding asks the server for the stream's info (a
// JetStream API request, answered one at a time by the server), which every status report of
// every node paid before, on the path between applying a version and the control plane
// hearing of it.
func (a *Agent) nodesBucket(ctx context.Context) (jetstream.KeyValue, error) {
	a.mu.Lock()
	kv := a.nodesKV
	a.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	kv, err := a.js.KeyValue(ctx, control.NodesBucket)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.nodesKV = kv
	a.mu.Unlock()
	return kv, nil
}

// bindPurges finds the node's durable consumer of the purge stream, or makes it: from just
// after the position kept on disk, else from now (a node new to the CDN holds nothing older).
// When the stream no longer holds the purges after the kept position (the node was away for
// longer than the stream keeps them), everything cached is dropped: the node cannot know what
// it missed. last is the stream's last sequence: what the node must have applied to be caught up.
func (a *Agent) bindPurges(ctx context.Context) (jetstream.Consumer, uint64, error) {
	stream, err := a.js.Stream(ctx, control.PurgeStream)
	if err != nil {
		return nil, 0, fmt.Errorf("purge stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("purge stream: %w", err)
	}
	last := info.State.LastSeq
	name := control.ConsumerName(a.node)
	cons, err := stream.Consumer(ctx, name)
	if err == nil {
		return cons, last, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, 0, fmt.Errorf("purge consumer: %w", err)
	}
	cc := jetstream.ConsumerConfig{
		Durable: name, Description: "purges for node " + a.node, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 2 * time.Second, MaxDeliver: -1, MaxAckPending: 10_000, FilterSubject: control.PurgeSubject,
		InactiveThreshold: control.PurgeRetention, DeliverPolicy: jetstream.DeliverNewPolicy,
		// The consumer's state in memory: the server does not rewrite a state file after every
		// acknowledgement (a third of its CPU with 100 nodes). A NATS restart loses the
		// consumer; the node then makes it again from its own position, and a purge applied
		// twice changes nothing (its ID).
		MemoryStorage: true,
	}
	if seq := a.purgeSeq.Load(); seq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
		if first := info.State.FirstSeq; seq+1 < first && info.State.Msgs > 0 || seq > last {
			a.dropAll(seq, info.State.FirstSeq)
			cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverNewPolicy, 0
		}
	}
	cons, err = stream.CreateConsumer(ctx, cc)
	if err != nil {
		return nil, 0, fmt.Errorf("purge consumer: %w", err)
	}
	a.log.Info("control: purge consumer created", "name", name, "from", cc.OptStartSeq)
	return cons, last, nil
}

// dropAll hard-purges every domain the node serves, issued now.
func (a *Agent) dropAll(had, first uint64) {
	a.log.Warn("control: purges were missed beyond what the stream keeps; dropping the whole cache", "applied_up_to", had, "stream_first", first)
	a.mu.Lock()
	e := a.edge
	a.mu.Unlock()
	var names []string
	if ds, ok := e.(interface{ DomainNames() []string }); ok {
		names = ds.DomainNames()
	}
	if len(names) == 0 {
		return
	}
	if _, err := e.Purge(purge.New(purge.Domain, names, false, time.Now())); err != nil {
		a.log.Error("control: dropping the cache", "err", err)
	}
}

// catchUp waits until the consumer has acknowledged every purge up to last.
func (a *Agent) catchUp(ctx context.Context, cons jetstream.Consumer, last uint64) error {
	select {
	case <-a.caughtUp:
		return nil
	default:
	}
	deadline := time.Now().Add(a.cfg.CatchUpTimeout)
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("purge consumer: %w", err)
		}
		if info.AckFloor.Stream >= last || info.NumPending == 0 && info.NumAckPending == 0 {
			a.caughtOnce.Do(func() { close(a.caughtUp) })
			return nil
		}
		if time.Now().After(deadline) {
			return nil // Start has given up waiting; the consumer goes on
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// onPurge applies one purge of the stream and answers the control plane. A purge comes again
// when its acknowledgement is lost; the edge applies an ID once.
func (a *Agent) onPurge(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		msg.Term()
		return
	}
	var p purge.Purge
	if err := json.Unmarshal(msg.Data(), &p); err != nil {
		a.log.Error("control: unreadable purge message; dropped", "seq", meta.Sequence.Stream, "err", err)
		msg.Term()
		return
	}
	a.mu.Lock()
	e := a.edge
	a.mu.Unlock()
	res, err := e.Purge(p)
	if err != nil {
		res = purge.Result{ID: p.ID, Node: a.node, Kind: p.Kind, Targets: len(p.Targets), Issued: p.Issued, Error: err.Error()}
	}
	if err := msg.Ack(); err != nil {
		a.log.Warn("control: purge ack", "seq", meta.Sequence.Stream, "err", err)
	}
	if seq := meta.Sequence.Stream; seq > a.purgeSeq.Load() {
		a.purgeSeq.Store(seq)
	}
	data, _ := json.Marshal(control.PurgeAck{Node: a.node, POP: a.pop, Seq: meta.Sequence.Stream, Result: res})
	a.nc.Publish(control.PurgeAckSubject, data)
}

// onPrefetch fetches the URLs of an order this node owns in its POP and reports.
func (a *Agent) onPrefetch(m *nats.Msg) {
	var o control.PrefetchOrder
	if err := json.Unmarshal(m.Data, &o); err != nil || o.ID == "" {
		a.log.Warn("control: unreadable prefetch order", "err", err)
		return
	}
	a.prefetches.Add(1)
	go func() {
		defer a.prefetches.Done()
		a.report(a.prefetch(o))
	}()
}

func (a *Agent) report(r control.PrefetchReport) {
	data, _ := json.Marshal(r)
	if err := a.nc.Publish(control.PrefetchAckSubject, data); err != nil {
		a.log.Warn("control: prefetch report", "id", r.ID, "err", err)
	}
}

// advertise names the addresses clients reach the node on: control.advertise, else the host of
// its HTTP (or HTTPS) listener when that is one IP address.
func (a *Agent) advertise() []string {
	if adv := a.cfg.Base.Control.Advertise; len(adv) > 0 {
		return adv
	}
	for _, l := range []string{a.cfg.HTTP, a.cfg.HTTPS} {
		if host, _, err := net.SplitHostPort(l); err == nil {
			if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
				return []string{host}
			}
		}
	}
	return nil
}
