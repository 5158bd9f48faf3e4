package config

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckDomains(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the report, in order; none = valid
	}{
		{"valid", "domains:\n  - name: img.example.com\n    origin: {servers: [{url: \"http://o\"}]}\n", nil},
		// A node's certificate and directory are not the control plane's to check.
		{"node files", "domains:\n  - name: a.example.com\n    tls: {cert: /etc/pixcdn/a.pem, key: /etc/pixcdn/a.key}\n    origin: {root: /srv/site}\n", nil},
		{"env secret", "domains:\n  - name: a.example.com\n    origin:\n      s3: {endpoint: \"https://s3.example.com\", bucket: b, access_key: \"${AK}\", secret_key: \"${SK}\"}\n", nil},
		{"node key", "listen: \":80\"\ndomains:\n  - name: a.example.com\n    origin: {root: /srv}\n", []string{"push.yaml:1: listen: unknown field"}},
		{"relative root", "domains:\n  - name: a.example.com\n    origin: {root: site}\n", []string{"push.yaml:3: domains[0].origin.root", "absolute path"}},
		{"bad field and value", "domains:\n  - name: a.example.com\n    origin: {servers: [{url: \"ftp://o\"}]}\n    cache: {heuristic_percent: 200}\n",
			[]string{"push.yaml:3: domains[0].origin.servers[0].url", "push.yaml:4: domains[0].cache.heuristic_percent"}},
		{"empty", "", []string{"domains: at least one domain"}},
		{"bad env name", "domains:\n  - name: a.example.com\n    origin:\n      s3: {bucket: b, access_key: \"${1X}\", secret_key: \"${SK}\"}\n", []string{"invalid environment variable name"}},
	} {
		err := CheckDomains([]byte(tc.doc), "push.yaml")
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		rest := err.Error()
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: %q not in (the rest of) %q", tc.name, w, err)
				break
			}
			rest = rest[i+len(w):]
		}
	}
}

func TestWithDomains(t *testing.T) {
	base := mustParse(t, "node_name: n1\nlisten: \":9000\"\ndomains:\n  - name: local.example.com\n    origin: {root: testdata/site}\n")
	nc, err := base.WithDomains([]byte("domains:\n  - name: a.example.com\n    origin: {servers: [{url: \"http://o\"}]}\n"), "control v3")
	if err != nil {
		t.Fatal(err)
	}
	if nc.NodeName != "n1" || nc.Listen != ":9000" || len(nc.Domains) != 1 || nc.Domain("a.example.com") == nil || nc.Domain("local.example.com") != nil {
		t.Fatalf("merged config: %+v", nc)
	}
	if len(base.Domains) != 1 || base.Domains[0].Name != "local.example.com" {
		t.Fatal("the base changed")
	}
	// What only the node can check fails here, named in the document.
	_, err = base.WithDomains([]byte("domains:\n  - name: a.example.com\n    tls: {cert: /nonexistent.pem, key: /nonexistent.key}\n    origin: {root: /nonexistent}\n"), "control v4")
	if err == nil || !strings.Contains(err.Error(), "control v4:3: domains[0].tls.cert: cannot load key pair") ||
		!strings.Contains(err.Error(), "domains[0].origin.root") || !strings.Contains(err.Error(), "tls_listen is empty") {
		t.Fatalf("node checks: %v", err)
	}
}

func TestControlSection(t *testing.T) {
	c := mustParse(t, "pop: fra\ncontrol: {nats: \"nats://127.0.0.1:4222,tls://n2:4222\", token: t}\n")
	if c.POP != "fra" || !c.Control.Enabled() || len(c.Domains) != 0 {
		t.Fatalf("%+v", c)
	}
	for doc, want := range map[string]string{
		"control: {nats: \"http://x\", user: u}\n":        "test.yaml:1: control.nats test.yaml:1: control.password",
		"control: {token: t}\n":                           "test.yaml:1: control.token test.yaml:0: domains",
		"pop: \"a b\"\ncontrol: {nats: \"nats://h:1\"}\n": "test.yaml:1: pop",
	} {
		_, err := parse([]byte(doc), "test.yaml", noEnv)
		if got := strings.Join(where(t, err), " "); got != want {
			t.Errorf("%q: got %q, want %q", doc, got, want)
		}
	}
}

// A YAML syntax error names the line of the construct at fault, counted from 1, whichever of
// yaml's parser or scanner found it.
func TestSyntaxErrorLines(t *testing.T) {
	for doc, want := range map[string]int{
		"listen: \":80\"\ndomains:\n  - name: a\n    origin: {root: /x\n": 4, // an unclosed flow mapping
		"a: 1\nb: [1, 2\nc: 3\n":                              2, // an unclosed flow sequence
		"listen: \":80\"\ndomains:\n  - name: a\n   bad: 1\n": 3, // the block sequence it breaks
		"listen: \":80\"\ndomains:\n\t- name: a\n":            3, // a tab
		"a: 1\n  b: 2\n":                                      2,
	} {
		_, err := parse([]byte(doc), "t.yaml", noEnv)
		var ce *Error
		if !errors.As(err, &ce) || ce.Line != want {
			t.Errorf("%q: %v, want line %d", doc, err, want)
		}
	}
}

// A decoding error does not hide the document's other problems.
func TestDecodeAndValidationErrorsTogether(t *testing.T) {
	doc := "cache:\n  memory_size: lots\ndomains:\n  - name: a.example.com\n    origin: {servers: [{url: \"ftp://o\"}]}\n"
	_, err := parse([]byte(doc), "t.yaml", noEnv)
	got := strings.Join(where(t, err), " ")
	if got != "t.yaml:2: cache.memory_size t.yaml:5: domains[0].origin.servers[0].url" {
		t.Fatalf("got %q\n%v", got, err)
	}
}
