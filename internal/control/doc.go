// Package control is the control plane of a pixcdn CDN and the vocabulary its nodes speak
// with it over NATS JetStream.
//
// What lives where on NATS:
//
//   - the domains' configuration: one key ("domains") of the key-value bucket pixcdn_config,
//     each put a new version numbered by the bucket's revision (history, rollback);
//   - the nodes: one key per node in the bucket pixcdn_nodes, written by the node itself (the
//     version it runs, the last one it refused and why, a heartbeat);
//   - purges: the stream PIXCDN_PURGE, one message per purge (deduplicated by the purge's ID),
//     read by each node through its own durable consumer, so a node that was away gets what
//     it missed in stream order; each node answers on pixcdn.purge.ack once applied;
//   - prefetches: published on pixcdn.prefetch to the nodes present, answered per node on
//     pixcdn.prefetch.ack;
//   - live counters: each node publishes one sample a second on pixcdn.stats.<node>.
//
// Everything is ordered by the revision or sequence NATS gives, never by a clock, and every
// message that may come twice carries an ID and is applied once.
//
// The control plane (Server) runs an embedded nats-server by default, or uses an external
// NATS cluster; it validates configuration before it is stored, fans purges and prefetches
// out and collects the answers, and serves an HTTP API. The node side is package agent.
package control
