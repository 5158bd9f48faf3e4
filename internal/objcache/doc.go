// Package objcache is the HTTP object cache of a pixcdn node, over internal/store: what is
// stored under which key (Keyer), the metadata beside each body (Meta: its codec and a memo of
// decoded records), one fill per key however many clients miss at once (flights), filling and
// revalidating from upstream under RFC 9111 (Get), variants derived from a stored source (a
// content coding, a transformed image) stored beside it (Make, Variant), a direct read of a
// source's body for those front-ends (Source), and purges as lazy bans (Purge).
//
// The cache asks, inside a flight and before the origin, a small consumer-side Picker who
// should fill a primary key: a peer node of its POP, a parent tier, or (no Picker, or none
// picked) the domain's origin. A peer that fails falls back to the origin.
//
// It knows nothing of listeners, access rules or how an answer is written: internal/edge is
// the HTTP face that asks it and responds. Errors of upstreams come back as they are; the
// edge turns them into statuses.
package objcache
