// Package router answers each client with the node that should serve it: near the client,
// healthy, not overloaded, and in HTTP mode the node that holds the object. It is the CDN's
// scheduler, in the two modes of the open-source Traffic Control router: an authoritative DNS
// server for the CDN's names (A/AAAA with EDNS Client Subnet) and an HTTP server that answers
// 302 to the chosen node.
//
// A decision has two steps. The client's address gives a POP: by the coverage-zone file
// (longest prefix wins), else by GeoIP and the distance to the POPs' coordinates, else the
// default POP; a POP without a healthy node overflows to the next-nearest one. Inside the POP,
// healthy nodes only: in DNS mode weighted by spare capacity, in HTTP mode by rendezvous hashing
// of the URL (internal/rendezvous, as the cluster does), so each object goes to the node that
// has it. Health comes from the router's own probes of each node and from the load the control
// plane reports; both leave and come back with hysteresis.
//
// Decisions read an immutable table swapped in whole (atomic pointer) whenever nodes, health,
// load or files change, so the query path takes no lock and allocates nothing.
package router
