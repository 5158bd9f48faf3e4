// Package cluster makes the edge nodes of a POP one cache. Membership is by gossip
// (hashicorp/memberlist): nodes join through a seed list, leave gracefully, and a failed node
// is noticed in seconds, without any control plane. Each primary cache key has one owner among
// the live members, by rendezvous hashing (internal/rendezvous), so a key moves only when its
// owner comes or goes.
//
// The Cluster is the object cache's Picker: a node that misses on a key it does not own asks
// the owner over the peer endpoint, and the owner coalesces the POP's misses into one fill from
// its parent tier or the origin. The asking node keeps a copy only of hot keys (by request
// rate), so a popular object neither pins one node nor is stored on every node by default. A
// node that owns a key asks its parent tier (Config.Parents) before the origin, and, for a
// while after the members changed, the key's previous owner for a cached copy first, so that a
// node coming back does not send its keys to the origin all at once.
//
// The peer endpoint (Handler) is authenticated by a secret every node and tier shares: each
// request is signed (HMAC-SHA256 of the node, the time and the request line), so the secret
// never travels. The same secret keys the gossip's encryption. Peer requests skip the domain's
// client access rules: the node that asked has applied them.
package cluster
