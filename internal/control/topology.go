package control

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Topology is what the control plane keeps on JetStream.
type Topology struct {
	Config jetstream.KeyValue
	Nodes  jetstream.KeyValue
	Purges jetstream.Stream
}

// EnsureTopology creates (or updates to the current settings) the buckets and the stream. The
// control plane calls it at start; nodes only bind to what it made.
func EnsureTopology(ctx context.Context, js jetstream.JetStream, replicas int) (*Topology, error) {
	if replicas < 1 {
		replicas = 1
	}
	var t Topology
	var err error
	t.Config, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ConfigBucket, Description: "pixcdn domains configuration, one revision per version",
		History: ConfigHistory, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("control: bucket %s: %w", ConfigBucket, err)
	}
	t.Nodes, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: NodesBucket, Description: "pixcdn nodes: what each runs",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas, TTL: 30 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("control: bucket %s: %w", NodesBucket, err)
	}
	t.Purges, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: PurgeStream, Description: "pixcdn purges, every node reads all of them",
		Subjects: []string{PurgeSubject}, Storage: jetstream.FileStorage, Replicas: replicas,
		Retention: jetstream.LimitsPolicy, MaxAge: PurgeRetention, MaxMsgs: 10_000_000,
		Duplicates: 10 * time.Minute, Discard: jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("control: stream %s: %w", PurgeStream, err)
	}
	return &t, nil
}
