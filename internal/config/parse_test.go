package config

import (
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"minimal", minimal},
		{"http origin", `domains:
  - name: img.example.com
    aliases: ["*.img.example.com", IMG2.example.com]
    origin:
      host: origin.example.com:8443
      failover_statuses: [404, 502, 503]
      servers:
        - {url: "https://a.example.com/base", priority: 0, weight: 3, sni: a.example.com}
        - {url: "http://10.0.0.2:8080", priority: 1, host: b.internal}
    cache:
      status_ttl: {404: 10s, 200: 0s}
      rules:
        - {extensions: [CSS, .js], ttl: 1h}
        - {prefix: /api/, bypass: true, priority: 5}
      query: {mode: keep, params: [w, h], sort: false}
`},
		{"s3 origin with explicit type", `domains:
  - name: s3.example.com
    origin:
      type: s3
      s3: {endpoint: "http://127.0.0.1:7070", bucket: pics, path_style: true, prefix: site/}
`},
		{"listen off with tls_listen", "listen: \"off\"\ntls_listen: \":8443\"\n" + minimal},
		{"admin on loopback without token", "admin: {listen: \"127.0.0.1:9090\"}\n" + minimal},
		{"admin on localhost", "admin: {listen: \"localhost:9090\"}\n" + minimal},
		{"admin public with token", "admin: {listen: \":9090\", token: s3cret-token}\n" + minimal},
		{"anchors and merge keys", `domains:
  - name: a.example.com
    origin: &origin
      servers: [{url: "http://o.example.com"}]
  - name: b.example.com
    origin:
      <<: *origin
      connect_timeout: 3s
`},
		{"empty values keep defaults", "server:\nlog:\n" + minimal},
		{"memory cache only ignores disk sizes", "cache: {disk_size: 0, segment_size: 0}\n" + minimal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			c := mustParse(t, doc)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after Parse: %v", err)
			}
		})
	}
}

func TestMergeKeys(t *testing.T) {
	c := mustParse(t, `domains:
  - name: a.example.com
    origin: &origin
      connect_timeout: 2s
      servers: [{url: "http://o.example.com"}]
  - name: b.example.com
    origin:
      <<: *origin
      connect_timeout: 3s
`)
	a, b := c.Domains[0].Origin, c.Domains[1].Origin
	if a.ConnectTimeout.D() != 2*time.Second || b.ConnectTimeout.D() != 3*time.Second {
		t.Errorf("connect_timeout a=%v b=%v, want 2s and 3s (keys beside << win)", a.ConnectTimeout, b.ConnectTimeout)
	}
	if len(b.Servers) != 1 || b.Servers[0].URL != "http://o.example.com" || b.Type != OriginHTTP {
		t.Errorf("merged origin = %+v", b)
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	aFile := dir + "/file.txt"
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  string
		want []string // FILE:LINE: FIELD of each error, in order
	}{
		{"empty document", "", []string{"test.yaml:0: domains"}},
		{"no domains", "domains: []\n", []string{"test.yaml:1: domains"}},
		{"syntax", "domains:\n  - name: [\n", []string{"test.yaml:2: "}},
		{"two documents", minimal + "---\nlisten: x\n", []string{"test.yaml:5: "}},
		{"top level not a mapping", "- a\n- b\n", []string{"test.yaml:1: "}},
		{"unknown keys everywhere", `listn: ":80"
server:
  read_timout: 1s
domains:
  - name: example.com
    orign: {}
    origin:
      root: testdata/site
      servers: [{url: "http://x", wieght: 2}]
`, []string{"test.yaml:1: listn", "test.yaml:3: server.read_timout", "test.yaml:6: domains[0].orign", "test.yaml:9: domains[0].origin.servers[0].wieght"}},
		{"duplicate key", "listen: \":80\"\nlisten: \":81\"\n" + minimal, []string{"test.yaml:2: listen"}},
		{"wrong shapes", `node_name: [a]
server: 5
cache:
  memory_size: 12XB
  disk_size: {a: 1}
domains:
  - name: example.com
    aliases: a.example.com
    origin:
      root: testdata/site
      max_concurrent: many
      connect_timeout: 10
    cache:
      status_ttl: {abc: 1s}
      query: {sort: maybe}
`, []string{"test.yaml:1: node_name", "test.yaml:2: server", "test.yaml:4: cache.memory_size", "test.yaml:5: cache.disk_size",
			"test.yaml:8: domains[0].aliases", "test.yaml:11: domains[0].origin.max_concurrent", "test.yaml:12: domains[0].origin.connect_timeout",
			"test.yaml:14: domains[0].cache.status_ttl", "test.yaml:15: domains[0].cache.query.sort"}},
		{"listeners", `listen: "8080"
tls_listen: "[::1:443"
admin:
  listen: "0.0.0.0:9090"
` + minimal, []string{"test.yaml:1: listen", "test.yaml:2: tls_listen", "test.yaml:4: admin.listen"}},
		{"bad ports and hosts", "listen: \":99999\"\ntls_listen: \"bad_host:443\"\n" + minimal,
			[]string{"test.yaml:1: listen", "test.yaml:2: tls_listen"}},
		{"listen off and no tls", "listen: \"off\"\n" + minimal, []string{"test.yaml:1: listen"}},
		{"same address twice", "listen: \":8080\"\ntls_listen: \":8080\"\n" + minimal, []string{"test.yaml:2: tls_listen"}},
		{"admin without token on all interfaces", "admin:\n  listen: \":9090\"\n" + minimal, []string{"test.yaml:2: admin.listen"}},
		{"tls without tls_listen", `domains:
  - name: example.com
    tls: {cert: CERT, key: KEY}
    origin: {root: testdata/site}
`, []string{"test.yaml:3: domains[0].tls"}},
		{"tls files missing", `tls_listen: ":8443"
domains:
  - name: example.com
    tls:
      cert: /nonexistent/x.crt
      key: /nonexistent/x.key
    origin: {root: testdata/site}
  - name: b.example.com
    tls: {cert: CERT}
    origin: {root: testdata/site}
`, []string{"test.yaml:5: domains[0].tls.cert", "test.yaml:9: domains[1].tls.key"}},
		{"log and node name", "node_name: \"edge 1\"\nlog: {level: verbose, format: xml}\n" + minimal,
			[]string{"test.yaml:1: node_name", "test.yaml:2: log.level", "test.yaml:2: log.format"}},
		{"server limits", `server:
  read_header_timeout: 0s
  read_timeout: -1s
  shutdown_timeout: 0s
  max_header_bytes: 0
  max_url_bytes: 1MiB
  max_body_bytes: 0
` + minimal, []string{"test.yaml:2: server.read_header_timeout", "test.yaml:3: server.read_timeout", "test.yaml:4: server.shutdown_timeout",
			"test.yaml:5: server.max_header_bytes", "test.yaml:7: server.max_body_bytes"}},
		{"url longer than headers", "server: {max_header_bytes: 4KiB, max_url_bytes: 8KiB}\n" + minimal, []string{"test.yaml:1: server.max_url_bytes"}},
		{"event loops with net/http", "server:\n  http1: stdlib\n  event_loops: 2\n" + minimal, []string{"test.yaml:3: server.event_loops"}},
		{"event loops not a count", "server:\n  event_loops: many\n" + minimal, []string{"test.yaml:2: server.event_loops"}},
		{"cache sizes", `cache:
  dir: /var/cache/pixcdn
  memory_size: 1MiB
  memory_object_max: 2MiB
  disk_size: 1GiB
  segment_size: 2GiB
  max_object_size: 0
` + minimal, []string{"test.yaml:4: cache.memory_object_max", "test.yaml:6: cache.segment_size", "test.yaml:7: cache.max_object_size"}},
		{"cache zero memory and disk", "cache: {dir: /tmp/x, memory_size: 0, disk_size: 0}\n" + minimal,
			[]string{"test.yaml:1: cache.memory_size", "test.yaml:1: cache.disk_size"}},
		{"cache dir is a file", "cache: {dir: FILE}\n" + minimal, []string{"test.yaml:1: cache.dir"}},
		{"names", `domains:
  - name: example.com
    aliases: [www.example.com, "EXAMPLE.com", "-bad.example.com", "*.com", "a.*.example.com", "example.com:80"]
    origin: {root: testdata/site}
  - name: www.example.com
    origin: {root: testdata/site}
  - origin: {root: testdata/site}
`, []string{"test.yaml:3: domains[0].aliases[1]", "test.yaml:3: domains[0].aliases[2]", "test.yaml:3: domains[0].aliases[3]",
			"test.yaml:3: domains[0].aliases[4]", "test.yaml:3: domains[0].aliases[5]", "test.yaml:5: domains[1].name", "test.yaml:7: domains[2].name"}},
		{"origin kinds", `domains:
  - name: a.example.com
    origin: {}
  - name: b.example.com
    origin:
      root: testdata/site
      s3: {bucket: b, endpoint: "http://s3"}
  - name: c.example.com
    origin:
      type: http
      root: testdata/site
  - name: d.example.com
    origin:
      type: ftp
      servers: [{url: "http://x"}]
  - name: e.example.com
    origin:
      type: fs
`, []string{"test.yaml:3: domains[0].origin", "test.yaml:5: domains[1].origin", "test.yaml:10: domains[2].origin.type",
			"test.yaml:14: domains[3].origin.type", "test.yaml:17: domains[4].origin"}},
		{"http servers", `domains:
  - name: example.com
    origin:
      host: "bad host"
      cache_control: max-age=60
      connect_timeout: 0s
      response_timeout: -1s
      fail_threshold: 0
      fail_cooldown: -1s
      failover_statuses: [200, 503]
      max_concurrent: 0
      max_wait: -1s
      servers:
        - url: ftp://a.example.com
        - url: "http://b.example.com/x?y=1"
        - url: "http://c.example.com/#frag"
        - url: "http:///nohost"
        - url: "https://user:pw@d.example.com"
        - url: "http://e.example.com"
          weight: 0
          priority: -1
          sni: "bad_sni"
          host: "x y:80"
        - url: "http://e.example.com"
        - {}
`, []string{"test.yaml:4: domains[0].origin.host", "test.yaml:5: domains[0].origin.cache_control", "test.yaml:6: domains[0].origin.connect_timeout",
			"test.yaml:7: domains[0].origin.response_timeout", "test.yaml:8: domains[0].origin.fail_threshold", "test.yaml:9: domains[0].origin.fail_cooldown",
			"test.yaml:10: domains[0].origin.failover_statuses[0]", "test.yaml:11: domains[0].origin.max_concurrent", "test.yaml:12: domains[0].origin.max_wait",
			"test.yaml:14: domains[0].origin.servers[0].url", "test.yaml:15: domains[0].origin.servers[1].url", "test.yaml:16: domains[0].origin.servers[2].url",
			"test.yaml:17: domains[0].origin.servers[3].url", "test.yaml:18: domains[0].origin.servers[4].url",
			"test.yaml:20: domains[0].origin.servers[5].weight", "test.yaml:21: domains[0].origin.servers[5].priority",
			"test.yaml:22: domains[0].origin.servers[5].sni", "test.yaml:23: domains[0].origin.servers[5].host",
			"test.yaml:24: domains[0].origin.servers[6].url", "test.yaml:25: domains[0].origin.servers[7].url"}},
		{"s3", `domains:
  - name: a.example.com
    origin:
      host: origin.example.com
      s3:
        endpoint: s3.amazonaws.com
        region: ""
        access_key: AKIA
        prefix: /images
  - name: b.example.com
    origin:
      s3: {session_token: tok}
`, []string{"test.yaml:4: domains[0].origin.host", "test.yaml:5: domains[0].origin.s3.bucket", "test.yaml:5: domains[0].origin.s3.secret_key",
			"test.yaml:6: domains[0].origin.s3.endpoint", "test.yaml:7: domains[0].origin.s3.region", "test.yaml:9: domains[0].origin.s3.prefix",
			"test.yaml:12: domains[1].origin.s3.endpoint", "test.yaml:12: domains[1].origin.s3.bucket", "test.yaml:12: domains[1].origin.s3.session_token"}},
		{"fs", `domains:
  - name: a.example.com
    origin: {root: /nonexistent/dir}
  - name: b.example.com
    origin:
      root: FILE
      index_file: ../index.html
`, []string{"test.yaml:3: domains[0].origin.root", "test.yaml:6: domains[1].origin.root", "test.yaml:7: domains[1].origin.index_file"}},
		{"domain cache", `domains:
  - name: example.com
    origin: {root: testdata/site}
    cache:
      heuristic_percent: 101
      heuristic_min: 2h
      stale_if_origin_down: -1s
      status_ttl:
        99: 1s
        404: -1s
        600: 1s
      rules:
        - ttl: 1h
        - prefix: static/
          ttl: 0s
        - extensions: ["", "c/ss"]
          ttl: 1h
          priority: -2
        - prefix: /x
          bypass: true
          ttl: 1m
      query:
        mode: keep
`, []string{"test.yaml:5: domains[0].cache.heuristic_percent", "test.yaml:6: domains[0].cache.heuristic_min", "test.yaml:7: domains[0].cache.stale_if_origin_down",
			"test.yaml:9: domains[0].cache.status_ttl[99]", "test.yaml:10: domains[0].cache.status_ttl[404]", "test.yaml:11: domains[0].cache.status_ttl[600]",
			"test.yaml:13: domains[0].cache.rules[0]", "test.yaml:14: domains[0].cache.rules[1].prefix", "test.yaml:15: domains[0].cache.rules[1].ttl",
			"test.yaml:16: domains[0].cache.rules[2].extensions[0]", "test.yaml:16: domains[0].cache.rules[2].extensions[1]", "test.yaml:18: domains[0].cache.rules[2].priority",
			"test.yaml:21: domains[0].cache.rules[3].ttl", "test.yaml:22: domains[0].cache.query.params"}},
		{"keyed fields and error cap", `domains:
  - name: example.com
    origin: {root: testdata/site, max_header_bytes: 100}
    cache:
      max_error_ttl: -1s
      key_headers: [X-Device, "bad name", host, x-device]
    images: {max_cpu: -1s}
`, []string{"test.yaml:3: domains[0].origin.max_header_bytes", "test.yaml:5: domains[0].cache.max_error_ttl",
			"test.yaml:6: domains[0].cache.key_headers[1]", "test.yaml:6: domains[0].cache.key_headers[2]", "test.yaml:6: domains[0].cache.key_headers[3]",
			"test.yaml:7: domains[0].images.max_cpu"}},
		{"query modes", `domains:
  - name: a.example.com
    origin: {root: testdata/site}
    cache: {query: {mode: sorted}}
  - name: b.example.com
    origin: {root: testdata/site}
    cache: {query: {mode: drop_all, params: [a]}}
  - name: c.example.com
    origin: {root: testdata/site}
    cache:
      query:
        mode: drop
        params: [utm_source, ""]
`, []string{"test.yaml:4: domains[0].cache.query.mode", "test.yaml:7: domains[1].cache.query.params", "test.yaml:13: domains[2].cache.query.params[1]"}},
		{"compress and images", `images: {workers: -1, queue: -2}
domains:
  - name: example.com
    origin: {root: testdata/site}
    compress:
      min_size: 2KiB
      max_size: 1KiB
      encodings: [br, deflate, br]
      minify: [svg]
    images:
      dialects: [imgix, thumbor]
      max_source_pixels: 0
      max_output_width: 20000
      timeout: 0s
      quality: {webp: 101}
`, []string{"test.yaml:1: images.workers", "test.yaml:1: images.queue", "test.yaml:7: domains[0].compress.max_size",
			"test.yaml:8: domains[0].compress.encodings[1]", "test.yaml:8: domains[0].compress.encodings[2]", "test.yaml:9: domains[0].compress.minify[0]",
			"test.yaml:11: domains[0].images.dialects[1]", "test.yaml:12: domains[0].images.max_source_pixels",
			"test.yaml:13: domains[0].images.max_output_width", "test.yaml:14: domains[0].images.timeout", "test.yaml:15: domains[0].images.quality.webp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.ReplaceAll(tt.doc, "FILE", aFile)
			if strings.Contains(doc, "CERT") {
				cert, key := writeKeyPair(t, t.TempDir(), "example.com")
				doc = strings.NewReplacer("CERT", cert, "KEY", key).Replace(doc)
			}
			c, err := parse([]byte(doc), "test.yaml", noEnv)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if got := where(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("errors at\n  %s\nwant\n  %s\nfull error:\n%v", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "), err)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	doc := `domains:
  - name: example.com
    origin:
      servers:
        - url: "http://a.example.com"
        - url: "gopher://b.example.com"
`
	_, err := Parse([]byte(doc), "/etc/pixcdn.yaml")
	want := `/etc/pixcdn.yaml:6: domains[0].origin.servers[1].url: "gopher://b.example.com": scheme must be http or https`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	// A typo, and what else is wrong beside it: every problem at once, but not the ones the
	// typo explains (the name it was meant to be is "missing").
	_, err = Parse([]byte("domains:\n  - nmae: x\n"), "f.yaml")
	if want := "f.yaml:2: domains[0].nmae: unknown field (did you mean \"name\"?)\nf.yaml:2: domains[0].origin: set one of servers (http), s3 or root (fs)"; err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	_, err = Parse([]byte("cache:\n  memory_size: lots\n"+minimal), "f.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), `f.yaml:2: cache.memory_size: invalid size "lots"`) {
		t.Errorf("error = %v", err)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Field: "a.b", Msg: "bad"}, "f.yaml:3: a.b: bad"},
		{Error{File: "f.yaml", Field: "a.b", Msg: "bad"}, "f.yaml: a.b: bad"},
		{Error{Line: 3, Field: "a.b", Msg: "bad"}, "line 3: a.b: bad"},
		{Error{Field: "a.b", Msg: "bad"}, "a.b: bad"},
		{Error{File: "f.yaml", Line: 1, Msg: "bad"}, "f.yaml:1: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, `domains:
  - name: Example.COM
    origin:
      servers: [{url: "http://o.example.com"}]
  - name: s3.example.com
    origin:
      s3: {endpoint: "https://s3.example.com", bucket: b}
`)
	sorted := true
	want := Config{
		File: "test.yaml", NodeName: "pixcdn", POP: "default", Listen: ":8080",
		Log: Log{Metrics: true, Level: "info", Format: "text", AccessFormat: "json"},
		Server: Server{ReadHeaderTimeout: Duration(10 * time.Second), ReadTimeout: Duration(time.Minute), SendTimeout: Duration(time.Minute),
			IdleTimeout: Duration(2 * time.Minute), ShutdownTimeout: Duration(30 * time.Second),
			MaxHeaderBytes: 64 << 10, MaxURLBytes: 8 << 10, MaxBodyBytes: 10 << 20, HTTP1: HTTP1Native, EventLoops: LoopsAuto, TLSMinVersion: "1.2", HTTP3: true},
		Cache: Cache{MemorySize: 256 << 20, MemoryObjectMax: 1 << 20, DiskSize: 10 << 30, SegmentSize: 64 << 20, MaxObjectSize: 1 << 30},
	}
	cacheDefaults := DomainCache{HeuristicPercent: 10, HeuristicMin: Duration(10 * time.Second), HeuristicMax: Duration(time.Hour),
		StaleIfOriginDown: Duration(24 * time.Hour), MaxErrorTTL: Duration(10 * time.Second), Query: QueryKey{Mode: QueryKeepAll, Sort: &sorted}}
	originDefaults := Origin{ConnectTimeout: Duration(5 * time.Second), ResponseTimeout: Duration(30 * time.Second), FailThreshold: 3,
		FailCooldown: Duration(10 * time.Second), MaxConcurrent: 256, MaxWait: Duration(10 * time.Second), MaxHeaderBytes: 64 << 10, IndexFile: "index.html"}
	httpOrigin, s3Origin := originDefaults, originDefaults
	httpOrigin.Type, httpOrigin.Servers = OriginHTTP, []OriginServer{{URL: "http://o.example.com", Weight: 1}}
	s3Origin.Type, s3Origin.S3 = OriginS3, &S3{Endpoint: "https://s3.example.com", Bucket: "b", Region: "us-east-1"}
	compressDefaults := Compress{Enabled: true, MinSize: 1 << 10, MaxSize: 8 << 20, Encodings: []string{"br", "zstd", "gzip"}}
	imageDefaults := Images{Enabled: true, Dialects: []string{"imgix", "oss", "image_process"}, MaxSourceBytes: 50 << 20,
		MaxSourcePixels: 50_000_000, MaxOutputWidth: 8192, MaxOutputHeight: 8192, Timeout: Duration(10 * time.Second), MaxCPU: Duration(5 * time.Second)}
	want.Domains = []Domain{
		{Name: "example.com", Origin: httpOrigin, Cache: cacheDefaults, Compress: compressDefaults, Images: imageDefaults, EarlyHints: EarlyHints{Relay: true}, HTTP3: true},
		{Name: "s3.example.com", Origin: s3Origin, Cache: cacheDefaults, Compress: compressDefaults, Images: imageDefaults, EarlyHints: EarlyHints{Relay: true}, HTTP3: true},
	}
	got := *c
	got.lines, got.index = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if !c.Domains[0].Cache.Query.Sorted() || !(QueryKey{}).Sorted() {
		t.Error("Sorted() should default to true")
	}
}

func TestExplicitZeroIsKept(t *testing.T) {
	c := mustParse(t, `server:
  read_timeout: 0s
  send_timeout: 0s
domains:
  - name: example.com
    origin: {root: testdata/site, max_wait: 0s}
    cache:
      heuristic_percent: 0
      stale_if_origin_down: 0s
      query: {sort: false}
`)
	d := c.Domains[0]
	if c.Server.ReadTimeout != 0 || c.Server.SendTimeout != 0 || d.Origin.MaxWait != 0 ||
		d.Cache.HeuristicPercent != 0 || d.Cache.StaleIfOriginDown != 0 || d.Cache.Query.Sorted() {
		t.Errorf("explicit zeros replaced by defaults: server %+v origin.max_wait %v cache %+v", c.Server, d.Origin.MaxWait, d.Cache)
	}
}

func TestNormalisation(t *testing.T) {
	c := mustParse(t, `domains:
  - name: IMG.Example.com
    aliases: [CDN.example.COM]
    origin: {root: testdata/site}
    cache:
      rules: [{extensions: [CSS, .Js, .png], ttl: 1h}]
`)
	d := c.Domains[0]
	if d.Name != "img.example.com" || d.Aliases[0] != "cdn.example.com" || d.Origin.Type != OriginFS {
		t.Errorf("name %q aliases %q type %q", d.Name, d.Aliases, d.Origin.Type)
	}
	if got := d.Cache.Rules[0].Extensions; !slices.Equal(got, []string{".css", ".js", ".png"}) {
		t.Errorf("extensions = %q", got)
	}
}

func TestEnvExpansion(t *testing.T) {
	doc := `admin: {listen: ":9090", token: "${PIXCDN_TEST_ADMIN}"}
domains:
  - name: example.com
    origin:
      s3:
        endpoint: "https://s3.example.com"
        bucket: b
        access_key: "${PIXCDN_TEST_AK}"
        secret_key: ${PIXCDN_TEST_SK}
        session_token: "literal-${NOT_EXPANDED}"
`
	env := map[string]string{"PIXCDN_TEST_ADMIN": "adm", "PIXCDN_TEST_AK": "AKIA1", "PIXCDN_TEST_SK": "sk"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parse([]byte(doc), "test.yaml", lookup)
	if err != nil {
		t.Fatal(err)
	}
	s3 := c.Domains[0].Origin.S3
	if c.Admin.Token != "adm" || s3.AccessKey != "AKIA1" || s3.SecretKey != "sk" || s3.SessionToken != "literal-${NOT_EXPANDED}" {
		t.Errorf("token %q keys %q %q %q", c.Admin.Token, s3.AccessKey, s3.SecretKey, s3.SessionToken)
	}

	delete(env, "PIXCDN_TEST_SK")
	_, err = parse([]byte(doc), "test.yaml", lookup)
	if err == nil || !strings.Contains(err.Error(), "test.yaml:9: domains[0].origin.s3.secret_key: environment variable PIXCDN_TEST_SK is not set") {
		t.Errorf("missing variable: %v", err)
	}
	_, err = parse([]byte(strings.Replace(doc, "${PIXCDN_TEST_ADMIN}", "${1BAD}", 1)), "test.yaml", lookup)
	if got := where(t, err); len(got) == 0 || got[0] != "test.yaml:1: admin.token" {
		t.Errorf("bad name: %v", err)
	}

	t.Setenv("PIXCDN_TEST_OS_TOKEN", "from-os") // Parse reads the process environment
	c, err = Parse([]byte("admin: {listen: \":9090\", token: \"${PIXCDN_TEST_OS_TOKEN}\"}\n"+minimal), "test.yaml")
	if err != nil || c.Admin.Token != "from-os" {
		t.Errorf("Parse with process env: token %v, err %v", c, err)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeKeyPair(t, dir, "example.com")
	otherCert, _ := writeKeyPair(t, dir, "other.example.com")
	doc := func(cert, key string) string {
		return "tls_listen: \":8443\"\ndomains:\n  - name: example.com\n    tls: {cert: \"" + cert + "\", key: \"" + key + "\"}\n    origin: {root: testdata/site}\n"
	}
	c := mustParse(t, doc(cert, key))
	if c.Domains[0].TLS == nil || c.Domains[0].TLS.Cert != cert {
		t.Errorf("tls = %+v", c.Domains[0].TLS)
	}
	_, err := parse([]byte(doc(otherCert, key)), "test.yaml", noEnv)
	if got := where(t, err); !slices.Equal(got, []string{"test.yaml:4: domains[0].tls.cert"}) || !strings.Contains(err.Error(), "private key does not match") {
		t.Errorf("mismatched pair: %v", err)
	}
}

func TestLoad(t *testing.T) {
	path := t.TempDir() + "/pixcdn.yaml"
	if err := os.WriteFile(path, []byte("listen: \":80\"\ndomains:\n  - name: example.com\n    origin: {root: /nonexistent}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if got := where(t, err); !slices.Equal(got, []string{path + ":4: domains[0].origin.root"}) {
		t.Errorf("Load errors at %q: %v", got, err)
	}
	if _, err := Load(path + ".missing"); err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestValidateWithoutLines(t *testing.T) {
	c := &Config{NodeName: "n", Listen: ":80", Log: Log{Metrics: true, Level: "info", Format: "text", AccessFormat: "json"}}
	c.setDefaults()
	c.Domains = []Domain{{Name: "example.com"}}
	c.Domains[0].setDefaults()
	c.Domains[0].Origin.Root = "testdata/site"
	c.Domains[0].Origin.Type = OriginFS
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate of a Config built in Go: %v", err)
	}
	c.Domains[0].Name = "Example.com"
	if err := c.Validate(); err == nil || err.Error() != `domains[0].name: "Example.com" is not a valid host name (letters, digits and '-' in dot-separated labels; no port, no scheme)` {
		t.Errorf("Validate = %v", err)
	}
}

func TestAliasBomb(t *testing.T) {
	// 2000 rules of 10 extensions, aliased into 600 domains: about 2*10^7 nodes from a 100 KB file.
	doc := `domains:
  - name: example.com
    origin: {root: testdata/site}
    cache:
      rules: &r
` + strings.Repeat("        - {ttl: 1s, extensions: &e [.a, .b, .c, .d, .e, .f, .g, .h, .i, .j]}\n", 1) +
		strings.Repeat("        - {ttl: 1s, extensions: *e}\n", 2000) + `
  - name: b.example.com
    origin: {root: testdata/site}
    cache: {rules: *r}
`
	for i := range 600 {
		doc += "  - {name: d" + strconv.Itoa(i) + ".example.com, origin: {root: testdata/site}, cache: {rules: *r}}\n"
	}
	// The walk stops at the cap; a lower cap keeps this fast under the race detector while
	// exercising the same refusal.
	defer func(old int) { maxNodes = old }(maxNodes)
	maxNodes = 50_000
	_, err := parse([]byte(doc), "test.yaml", noEnv)
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Errorf("err = %v", err)
	}
}

func TestAliasCycle(t *testing.T) {
	for _, doc := range []string{
		"domains:\n  - &d\n    name: example.com\n    origin: {root: testdata/site}\n    <<: *d\n",
		"domains:\n  - name: example.com\n    origin: &o\n      root: testdata/site\n      <<: [*o]\n",
		"domains: &l\n  - name: example.com\n    aliases: *l\n    origin: {root: testdata/site}\n",
	} {
		_, err := parse([]byte(doc), "test.yaml", noEnv)
		if err == nil {
			t.Errorf("no error for\n%s", doc)
		}
	}
}
