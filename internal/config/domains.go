package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
)

// The control plane holds the domains of every node in one document, a YAML file with the
// single top-level key "domains" (the same list a node's own file has). Everything else in a
// node's file (listeners, cache sizes, the cluster) belongs to that node and stays there.
//
// A document is checked twice: by the control plane before it accepts it (CheckDomains: every
// rule that does not depend on a machine) and by each node before it serves it (WithDomains:
// every rule, with the node's certificate files, directories and environment).

// domainsDoc is the shape of the control plane's document: its decoder rejects every other
// top-level key with its line.
type domainsDoc struct {
	Domains []Domain `yaml:"domains"`
}

// CheckDomains validates a domains document as far as it can be without the nodes: strict
// decoding, defaults, and every rule except those that read the machine (certificate and key
// files, an fs origin's directory, ${NAME} values from the environment, a tls_listen on the
// node). It returns every problem joined, each an *Error naming file, line and field.
func CheckDomains(data []byte, file string) error {
	c, p, err := decodeDomains(data, file)
	if err != nil {
		return err
	}
	p.portable = true
	c.expandEnv(p, func(string) (string, bool) { return envPlaceholder, true })
	c.validateDomains(p)
	if len(c.Domains) == 0 && len(p.errs) == 0 {
		p.add("domains", "at least one domain is required")
	}
	sortByLine(p.errs)
	return errors.Join(p.errs...)
}

// envPlaceholder stands for a ${NAME} value the control plane cannot know: long enough for
// every rule a secret has, so only the syntax of the reference is judged there.
const envPlaceholder = "placeholder-for-a-node-secret-0123456789"

// WithDomains returns a copy of c (a node's validated configuration) serving the domains of
// the control plane's document data instead of its own, expanded and validated completely on
// this node. file names the document in errors (e.g. "control v12").
func (c *Config) WithDomains(data []byte, file string) (*Config, error) {
	doc, p, err := decodeDomains(data, file)
	if err != nil {
		return nil, err
	}
	nc := *c
	nc.Domains, nc.lines, nc.index = doc.Domains, doc.lines, nil
	if len(nc.Domains) == 0 {
		p.add("domains", "at least one domain is required")
	}
	nc.normalize()
	nc.expandEnv(p, os.LookupEnv)
	nc.validate(p)
	if len(p.errs) > 0 {
		sortByLine(p.errs)
		return nil, errors.Join(p.errs...)
	}
	nc.index = newDomainIndex(nc.Domains)
	return &nc, nil
}

// decodeDomains decodes a domains document strictly into a Config holding only its domains.
func decodeDomains(data []byte, file string) (*Config, *problems, error) {
	root, err := readDocument(data, file)
	if err != nil {
		return nil, nil, err
	}
	lines := map[string]int{}
	var doc domainsDoc
	if root != nil {
		d := decoder{problems: problems{file: file, lines: lines}}
		d.value(root, reflect.ValueOf(&doc).Elem(), "")
		if len(d.errs) > 0 {
			return nil, nil, errors.Join(d.errs...)
		}
	}
	c := &Config{File: file, Domains: doc.Domains, lines: lines}
	c.normalize()
	return c, &problems{file: file, lines: lines}, nil
}

// StateDirOrDefault is where the node keeps what the control plane gave it: control.state_dir,
// else "control" under the disk cache, else "" (nothing survives a restart).
func (c *Config) StateDirOrDefault() string {
	switch {
	case c.Control.StateDir != "":
		return c.Control.StateDir
	case c.Cache.Dir != "":
		return filepath.Join(c.Cache.Dir, "control")
	}
	return ""
}

// Lines knows the line of every field of a document decoded by DecodeYAML, for errors found
// after decoding.
type Lines struct {
	file  string
	lines map[string]int
}

// Error is an *Error for field (a path such as "pops[1].nodes[0].ipv4") at its line, or at its
// nearest written ancestor's.
func (l Lines) Error(field, msg string) *Error {
	return &Error{File: l.file, Line: lineOf(l.lines, field), Field: field, Msg: msg}
}

// DecodeYAML decodes data strictly into v, a pointer to a struct with yaml tags, by the rules
// of a configuration file: an unknown key (with a suggestion), a value of the wrong type, a
// duplicate key are errors naming file, line and field, all of them joined. Sizes and durations
// are written as in a configuration (Size, Duration); structs with a setDefaults method are not
// defaulted (the caller defaults v before). Other programs' files (the router's nodes file) use
// it so that every pixcdn file reports its mistakes the same way.
func DecodeYAML(data []byte, file string, v any) (Lines, error) {
	lines := Lines{file: file, lines: map[string]int{}}
	root, err := readDocument(data, file)
	if err != nil || root == nil {
		return lines, err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return lines, errors.New("config: DecodeYAML needs a pointer to a struct")
	}
	d := decoder{problems: problems{file: file, lines: lines.lines}}
	d.value(root, rv.Elem(), "")
	return lines, errors.Join(d.errs...)
}
