package config

import "time"

// The defaults, in one place so docs/configuration.md can be checked against them by reading.
const (
	DefaultNodeName = "pixcdn"
	DefaultListen   = ":8080"
	DefaultPOP      = "default"
)

func (c *Config) setDefaults() {
	c.NodeName = DefaultNodeName
	c.Listen = DefaultListen
	c.POP = DefaultPOP
	c.Log = Log{Metrics: true, Level: "info", Format: "text", AccessFormat: "json"}
	c.Server = Server{
		ReadHeaderTimeout: Duration(10 * time.Second),
		ReadTimeout:       Duration(60 * time.Second),
		SendTimeout:       Duration(60 * time.Second),
		IdleTimeout:       Duration(120 * time.Second),
		ShutdownTimeout:   Duration(30 * time.Second),
		MaxHeaderBytes:    64 << 10,
		MaxURLBytes:       8 << 10,
		MaxBodyBytes:      10 << 20,
		HTTP1:             HTTP1Native,
		EventLoops:        LoopsAuto,
		TLSMinVersion:     "1.2",
		HTTP3:             true,
	}
	c.Cache = Cache{
		MemorySize:      256 << 20,
		MemoryObjectMax: 1 << 20,
		DiskSize:        10 << 30,
		SegmentSize:     64 << 20,
		MaxObjectSize:   1 << 30,
	}
}

func (d *Domain) setDefaults() {
	d.Origin = Origin{
		ConnectTimeout:  Duration(5 * time.Second),
		ResponseTimeout: Duration(30 * time.Second),
		FailThreshold:   3,
		FailCooldown:    Duration(10 * time.Second),
		MaxConcurrent:   256,
		MaxWait:         Duration(10 * time.Second),
		MaxHeaderBytes:  64 << 10,
		IndexFile:       "index.html",
	}
	d.HTTP3 = true
	sorted := true
	d.Cache = DomainCache{
		HeuristicPercent:  10,
		HeuristicMin:      Duration(10 * time.Second),
		HeuristicMax:      Duration(time.Hour),
		StaleIfOriginDown: Duration(24 * time.Hour),
		MaxErrorTTL:       Duration(10 * time.Second),
		Query:             QueryKey{Mode: QueryKeepAll, Sort: &sorted},
	}
	d.EarlyHints.Relay = true
	d.Compress.setDefaults()
	d.Images.setDefaults()
}

func (s *OriginServer) setDefaults() { s.Weight = 1 }

func (s *S3) setDefaults() { s.Region = "us-east-1" }
