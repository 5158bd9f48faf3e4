package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreStats is what the cache store reports at scrape time. Counters are cumulative since the
// process started.
type StoreStats struct {
	MemoryBytes, MemoryObjects int64
	DiskBytes, DiskObjects     int64
	Segments                   int64 // disk segment files
	MemoryEvictions            int64 // objects the memory tier evicted for space
	DiskEvictions              int64 // whole disk segments deleted for space
	CorruptDropped             int64 // records found corrupt and dropped
	WriteErrors                int64 // disk writes that failed
	DiskEvictedObjects         int64 // index entries the evicted segments took with them
}

// OriginServerHealth is the passive health of one server of one origin.
type OriginServerHealth struct {
	Origin, Server      string
	Up                  bool
	ConsecutiveFailures int
}

// AccessLogStats is what the access log reports at scrape time (see accesslog.Logger.Stats).
type AccessLogStats struct {
	Dropped     int64 // lines dropped because the writer fell behind
	WriteErrors int64 // failed writes or flushes to the log file
}

// NodeInfo is what a node runs, at scrape time.
type NodeInfo struct {
	ConfigVersion string       // the configuration's content hash
	BanVersion    uint64       // grows with every purge applied
	Control       *ControlInfo // nil: the node has no control plane
}

// ControlInfo is the node's link to the control plane, at scrape time.
type ControlInfo struct {
	Connected bool
	Version   uint64 // the control plane's version served; 0 = the file's domains
	Failed    uint64 // the newest version refused here; 0 = none
	PurgeSeq  uint64 // the last purge of the stream applied
}

// PeerStats is one peer's (or parent tier's) exchanges with this node, at scrape time.
type PeerStats struct {
	Peer                    string
	Requests, Errors, Bytes int64
	HeaderSeconds           float64 // time to response headers, summed
}

// SetPeerStats makes every scrape call fn for the pixcdn_peer_* series and members for
// pixcdn_cluster_members; nil stops them.
func (m *Metrics) SetPeerStats(fn func() []PeerStats, members func() int) {
	m.scrape.peers.Store(&fn)
	m.scrape.members.Store(&members)
}

// SetNodeInfo makes every scrape call fn for pixcdn_config_info and pixcdn_ban_list_version;
// nil stops them.
func (m *Metrics) SetNodeInfo(fn func() NodeInfo) { m.scrape.node.Store(&fn) }

// ImageStats is the image pipeline's work at scrape time (see edge.Server.ImageStats).
type ImageStats struct {
	Running, Waiting int64 // jobs on a worker, and in the queue, now
	Made             int64 // variants made since start (not reused, not served from the cache)
	Busy             int64 // requests refused because the queue was full
	Failed           int64 // jobs that ended in an error (bad source, timeout)
}

// SetImageStats makes every scrape call fn for the pixcdn_image_* series; nil stops them.
func (m *Metrics) SetImageStats(fn func() ImageStats) { m.scrape.images.Store(&fn) }

// EventLoopStats is the plain-HTTP event loops' work (server.event_loops; see
// edge.Server.EventLoopStats).
type EventLoopStats struct {
	Inline   int64 // requests answered inline by a loop
	Handoffs int64 // connections a loop handed to a goroutine (a miss, a body, a request in pieces)
}

// SetEventLoopStats makes every scrape call fn for the pixcdn_http1_loop_* series; nil stops
// them.
func (m *Metrics) SetEventLoopStats(fn func() EventLoopStats) { m.scrape.loops.Store(&fn) }

// SetStoreStats makes every scrape call fn for the pixcdn_store_* series; nil stops them.
// fn runs on the scraping goroutine and must be safe to call concurrently with the store.
func (m *Metrics) SetStoreStats(fn func() StoreStats) { m.scrape.store.Store(&fn) }

// SetOriginHealth makes every scrape call fn for pixcdn_origin_server_up and
// pixcdn_origin_server_consecutive_failures; nil stops them.
func (m *Metrics) SetOriginHealth(fn func() []OriginServerHealth) { m.scrape.health.Store(&fn) }

// SetAccessLogStats makes every scrape call fn for the pixcdn_access_log_* series; nil stops them.
func (m *Metrics) SetAccessLogStats(fn func() AccessLogStats) { m.scrape.accessLog.Store(&fn) }

// scrapeCollector exports figures owned elsewhere by asking for them at scrape time, so the
// owners keep plain atomic counters and nothing polls them in between.
type scrapeCollector struct {
	store     atomic.Pointer[func() StoreStats]
	health    atomic.Pointer[func() []OriginServerHealth]
	accessLog atomic.Pointer[func() AccessLogStats]
	images    atomic.Pointer[func() ImageStats]
	loops     atomic.Pointer[func() EventLoopStats]
	node      atomic.Pointer[func() NodeInfo]
	peers     atomic.Pointer[func() []PeerStats]
	members   atomic.Pointer[func() int]

	storeBytes, storeObjects, segments               *prometheus.Desc
	memEvictions, diskEvictions, diskEvictedObj      *prometheus.Desc
	corrupt, writeErrors                             *prometheus.Desc
	serverUp, serverFailures                         *prometheus.Desc
	logDropped, logWriteErrors                       *prometheus.Desc
	imgJobs, imgMade, imgBusy, imgFailed             *prometheus.Desc
	loopInline, loopHandoffs                         *prometheus.Desc
	configInfo, banVersion                           *prometheus.Desc
	peerRequests, peerErrors, peerBytes              *prometheus.Desc
	peerSeconds, clusterMembers                      *prometheus.Desc
	ctlConnected, ctlVersion, ctlFailed, ctlPurgeSeq *prometheus.Desc
}

var _ prometheus.Collector = (*scrapeCollector)(nil)

func newScrapeCollector() *scrapeCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &scrapeCollector{
		storeBytes:     desc("store_bytes", "Bytes held by a cache tier (memory: entry weight; disk: segment files).", "tier"),
		storeObjects:   desc("store_objects", "Objects held by a cache tier.", "tier"),
		segments:       desc("store_disk_segments", "Segment files of the disk tier."),
		memEvictions:   desc("store_memory_evictions_total", "Objects the memory tier evicted for space."),
		diskEvictions:  desc("store_disk_segment_evictions_total", "Whole disk segments deleted for space."),
		diskEvictedObj: desc("store_disk_evicted_objects_total", "Objects removed with evicted disk segments."),
		corrupt:        desc("store_corrupt_records_dropped_total", "Stored records found corrupt and dropped."),
		writeErrors:    desc("store_write_errors_total", "Disk tier writes that failed."),
		serverUp:       desc("origin_server_up", "1 when an origin server is considered healthy, 0 when down.", "origin", "server"),
		serverFailures: desc("origin_server_consecutive_failures", "Consecutive failed requests to an origin server.", "origin", "server"),
		logDropped:     desc("access_log_dropped_lines_total", "Access log lines dropped because the writer fell behind."),
		logWriteErrors: desc("access_log_write_errors_total", "Failed writes to the access log file."),
		imgJobs:        desc("image_jobs", "Image jobs running on a worker or waiting in the queue now.", "state"),
		imgMade:        desc("images_made_total", "Image variants made (not reused from the cache or a revalidated source)."),
		imgBusy:        desc("image_queue_full_total", "Image requests answered 503 because every worker was busy and the queue full."),
		imgFailed:      desc("image_jobs_failed_total", "Image jobs that ended in an error (bad or oversized source, timeout)."),
		loopInline:     desc("http1_loop_inline_requests_total", "Plain HTTP/1.1 requests an event loop answered inline (memory-tier hits)."),
		loopHandoffs:   desc("http1_loop_handoffs_total", "Connections an event loop handed to a goroutine of their own (a miss, a request body, a request in pieces)."),
		configInfo:     desc("config_info", "1, labelled with the version (content hash) of the configuration the node runs.", "version"),
		banVersion:     desc("ban_list_version", "Version of the node's ban list: it grows with every purge applied."),
		peerRequests:   desc("peer_requests_total", "Requests this node sent to a peer or parent tier.", "peer"),
		peerErrors:     desc("peer_errors_total", "Requests to a peer or parent that got no usable answer (the origin was asked).", "peer"),
		peerBytes:      desc("peer_response_bytes_total", "Body bytes peers and parents answered this node (by Content-Length).", "peer"),
		peerSeconds:    desc("peer_header_seconds_total", "Time waiting for peers' and parents' response headers, summed.", "peer"),
		clusterMembers: desc("cluster_members", "Live members of this node's POP as it sees them, itself included."),
		ctlConnected:   desc("control_connected", "1 while the node is connected to the control plane's NATS, else 0 (it serves its last good configuration)."),
		ctlVersion:     desc("control_config_version", "The control plane's configuration version the node serves (0: its own file's domains)."),
		ctlFailed:      desc("control_config_failed_version", "The newest control plane version that failed to build on this node (0: none); the reason is in the log and the control plane's node list."),
		ctlPurgeSeq:    desc("control_purge_sequence", "Sequence of the last purge of the control plane's purge stream the node applied."),
	}
}

// Describe sends every descriptor, so the registry checks them for collisions at registration.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.storeBytes, c.storeObjects, c.segments, c.memEvictions,
		c.diskEvictions, c.diskEvictedObj, c.corrupt, c.writeErrors, c.serverUp, c.serverFailures,
		c.logDropped, c.logWriteErrors, c.imgJobs, c.imgMade, c.imgBusy, c.imgFailed, c.loopInline, c.loopHandoffs,
		c.configInfo, c.banVersion,
		c.peerRequests, c.peerErrors, c.peerBytes, c.peerSeconds, c.clusterMembers,
		c.ctlConnected, c.ctlVersion, c.ctlFailed, c.ctlPurgeSeq} {
		ch <- d
	}
}

// Collect calls each source that is set.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if fn := c.store.Load(); fn != nil && *fn != nil {
		c.collectStore(ch, (*fn)())
	}
	if fn := c.health.Load(); fn != nil && *fn != nil {
		c.collectHealth(ch, (*fn)())
	}
	if fn := c.images.Load(); fn != nil && *fn != nil {
		s := (*fn)()
		ch <- prometheus.MustNewConstMetric(c.imgJobs, prometheus.GaugeValue, float64(s.Running), "running")
		ch <- prometheus.MustNewConstMetric(c.imgJobs, prometheus.GaugeValue, float64(s.Waiting), "waiting")
		ch <- prometheus.MustNewConstMetric(c.imgMade, prometheus.CounterValue, float64(s.Made))
		ch <- prometheus.MustNewConstMetric(c.imgBusy, prometheus.CounterValue, float64(s.Busy))
		ch <- prometheus.MustNewConstMetric(c.imgFailed, prometheus.CounterValue, float64(s.Failed))
	}
	if fn := c.loops.Load(); fn != nil && *fn != nil {
		s := (*fn)()
		ch <- prometheus.MustNewConstMetric(c.loopInline, prometheus.CounterValue, float64(s.Inline))
		ch <- prometheus.MustNewConstMetric(c.loopHandoffs, prometheus.CounterValue, float64(s.Handoffs))
	}
	if fn := c.node.Load(); fn != nil && *fn != nil {
		s := (*fn)()
		ch <- prometheus.MustNewConstMetric(c.configInfo, prometheus.GaugeValue, 1, s.ConfigVersion)
		ch <- prometheus.MustNewConstMetric(c.banVersion, prometheus.GaugeValue, float64(s.BanVersion))
		if ci := s.Control; ci != nil {
			up := 0.0
			if ci.Connected {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(c.ctlConnected, prometheus.GaugeValue, up)
			ch <- prometheus.MustNewConstMetric(c.ctlVersion, prometheus.GaugeValue, float64(ci.Version))
			ch <- prometheus.MustNewConstMetric(c.ctlFailed, prometheus.GaugeValue, float64(ci.Failed))
			ch <- prometheus.MustNewConstMetric(c.ctlPurgeSeq, prometheus.GaugeValue, float64(ci.PurgeSeq))
		}
	}
	if fn := c.peers.Load(); fn != nil && *fn != nil {
		for _, p := range (*fn)() {
			ch <- prometheus.MustNewConstMetric(c.peerRequests, prometheus.CounterValue, float64(p.Requests), p.Peer)
			ch <- prometheus.MustNewConstMetric(c.peerErrors, prometheus.CounterValue, float64(p.Errors), p.Peer)
			ch <- prometheus.MustNewConstMetric(c.peerBytes, prometheus.CounterValue, float64(p.Bytes), p.Peer)
			ch <- prometheus.MustNewConstMetric(c.peerSeconds, prometheus.CounterValue, p.HeaderSeconds, p.Peer)
		}
	}
	if fn := c.members.Load(); fn != nil && *fn != nil {
		ch <- prometheus.MustNewConstMetric(c.clusterMembers, prometheus.GaugeValue, float64((*fn)()))
	}
	if fn := c.accessLog.Load(); fn != nil && *fn != nil {
		s := (*fn)()
		ch <- prometheus.MustNewConstMetric(c.logDropped, prometheus.CounterValue, float64(s.Dropped))
		ch <- prometheus.MustNewConstMetric(c.logWriteErrors, prometheus.CounterValue, float64(s.WriteErrors))
	}
}

func (c *scrapeCollector) collectStore(ch chan<- prometheus.Metric, s StoreStats) {
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	count := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.storeBytes, s.MemoryBytes, "memory")
	gauge(c.storeBytes, s.DiskBytes, "disk")
	gauge(c.storeObjects, s.MemoryObjects, "memory")
	gauge(c.storeObjects, s.DiskObjects, "disk")
	gauge(c.segments, s.Segments)
	count(c.memEvictions, s.MemoryEvictions)
	count(c.diskEvictions, s.DiskEvictions)
	count(c.diskEvictedObj, s.DiskEvictedObjects)
	count(c.corrupt, s.CorruptDropped)
	count(c.writeErrors, s.WriteErrors)
}

// collectHealth skips a repeated (origin, server) pair: a registry refuses a scrape with
// duplicate series, and one bad entry must not cost the whole scrape.
func (c *scrapeCollector) collectHealth(ch chan<- prometheus.Metric, servers []OriginServerHealth) {
	seen := make(map[[2]string]bool, len(servers))
	for _, s := range servers {
		k := [2]string{s.Origin, s.Server}
		if seen[k] {
			continue
		}
		seen[k] = true
		up := 0.0
		if s.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.serverUp, prometheus.GaugeValue, up, s.Origin, s.Server)
		ch <- prometheus.MustNewConstMetric(c.serverFailures, prometheus.GaugeValue, float64(s.ConsecutiveFailures), s.Origin, s.Server)
	}
}
