// Package ratelimit owns per-domain request rate limits for the edge: rules that match a path
// prefix and key requests by client IP, a header or a query parameter, each key with its own
// token bucket (Requests per Interval, Burst) and an optional Block time once it overflows.
//
// # Bounded memory
//
// Keys come from clients, so an attacker chooses how many there are. A Limiter therefore keeps
// its keys in a table allocated once by New and never grown: MaxKeys slots of 32 bytes (an
// 8-byte hash of rule and key, a 24-byte state), split into up to 64 lock shards of 8-way
// sets. A key may live in either of two sets picked by its hash; a new key takes a free slot of
// either, else evicts the least recently seen of their 16 keys (a blocked key counts as seen
// until its block ends). With two choices about 92 % of MaxKeys distinct keys fit before the
// first eviction (86 % with one), so size MaxKeys a little above the clients expected within
// the longest Interval or Block. Keys are stored only as 64-bit
// xxhash values: two keys collide with probability about n²/2⁶⁵ (3·10⁻⁸ for a million keys),
// and a collision merely makes two clients share a bucket.
//
// # Why forgetting an evicted key is safe enough
//
// An evicted key comes back with a full bucket, as a new key does. Eviction only happens when
// more than MaxKeys keys are active, and the victim is the least recently seen of its set, so a
// client that keeps sending is the last to go; one that stopped long enough to be evicted has
// mostly refilled anyway. An attacker who floods distinct keys to push its own key out gains at
// most one Burst per eviction, which is no more than each of the fresh keys it is already
// sending with: spoofed keys, not eviction, are what a key-based limit cannot stop, and the
// bound on memory is what keeps that flood from hurting the edge. A "recently refused" sketch
// was considered and left out for that reason; blocked keys are instead kept in preference to
// idle ones.
//
// # Algorithm
//
// Each key's bucket is one integer, its theoretical arrival time (GCRA): allowing a request
// advances it by Interval/Requests, and the request is refused when that would put it more than
// Burst*Interval/Requests ahead of now. This is exactly a token bucket with continuous refill,
// in integer nanoseconds, with no refill step and no fixed-point rounding.
//
// Time comes from the caller (Allow's now), measured from the time of New on the monotonic
// clock, so tests drive it deterministically and wall-clock steps do not release or punish
// clients.
package ratelimit
