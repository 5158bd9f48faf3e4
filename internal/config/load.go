package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Load reads the file at path, decodes it strictly, applies defaults, expands ${NAME} secrets from
// the environment and validates the result. Every problem is reported, joined; each is an *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load for a document already in memory; file is used only in error messages.
func Parse(data []byte, file string) (*Config, error) {
	return parse(data, file, os.LookupEnv)
}

func parse(data []byte, file string, lookupEnv func(string) (string, bool)) (*Config, error) {
	root, err := readDocument(data, file)
	if err != nil {
		return nil, err
	}
	c := &Config{File: file, lines: map[string]int{}}
	c.setDefaults()
	var decodeErrs []error
	if root != nil {
		d := decoder{problems: problems{file: file, lines: c.lines}}
		d.value(root, reflect.ValueOf(c).Elem(), "")
		decodeErrs = d.errs
	}
	c.normalize()
	p := &problems{file: file, lines: c.lines}
	c.expandEnv(p, lookupEnv)
	c.validate(p)
	// Every problem at once: what decoded is validated too, leaving out what a decoding error
	// already explains (a field that did not decode keeps its zero value or default).
	errs := append(decodeErrs, withoutExplained(p.errs, decodeErrs)...)
	if len(errs) > 0 {
		sortByLine(errs)
		return nil, errors.Join(errs...)
	}
	c.index = newDomainIndex(c.Domains)
	return c, nil
}

// withoutExplained drops the validation errors about a field that a decoding error names, or
// that lies inside or around one (the same path, a descendant or an ancestor).
func withoutExplained(errs, decoding []error) []error {
	if len(decoding) == 0 {
		return errs
	}
	related := func(a, b string) bool {
		return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(a, b+"[") ||
			strings.HasPrefix(b, a+".") || strings.HasPrefix(b, a+"[") || a == "" || b == ""
	}
	var out []error
	for _, e := range errs {
		ve, ok := e.(*Error)
		keep := ok
		for _, d := range decoding {
			de, ok := d.(*Error)
			if !ok || !keep {
				continue
			}
			if related(ve.Field, de.Field) || related(ve.Field, suggested(de)) {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

// suggested is the field an unknown key was probably meant to be ("domains[0].name" for
// "domains[0].nmae", did you mean "name"?), whose own problems the typo explains; "-" otherwise.
func suggested(e *Error) string {
	_, name, ok := strings.Cut(e.Msg, `did you mean "`)
	if !ok {
		return "-"
	}
	name, _, _ = strings.Cut(name, `"`)
	if i := strings.LastIndexByte(e.Field, '.'); i >= 0 {
		return e.Field[:i+1] + name
	}
	return name
}

// Validate checks c as Load does and returns every problem joined. It is for a Config built or
// changed in Go code; lines are known only for one that came from Load or Parse.
func (c *Config) Validate() error {
	p := &problems{file: c.File, lines: c.lines}
	c.validate(p)
	return errors.Join(p.errs...)
}

// sortByLine orders a report the way an operator reads the file; errors without a line go last.
func sortByLine(errs []error) {
	line := func(err error) int {
		if e, ok := err.(*Error); ok && e.Line > 0 {
			return e.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
}

// normalize puts names and extensions in the one form lookups compare against.
func (c *Config) normalize() {
	for i := range c.Domains {
		d := &c.Domains[i]
		d.Name = strings.ToLower(strings.TrimSpace(d.Name))
		for j, a := range d.Aliases {
			d.Aliases[j] = strings.ToLower(strings.TrimSpace(a))
		}
		for j := range d.Cache.Rules {
			exts := d.Cache.Rules[j].Extensions
			for k, e := range exts {
				exts[k] = normalizeExt(e)
			}
		}
		if d.Origin.Type == "" {
			d.Origin.Type = d.Origin.inferType()
		}
	}
}

// normalizeExt turns "CSS" and ".css" into ".css"; "" stays "" so validation can reject it.
func normalizeExt(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	if e == "" || e[0] == '.' {
		return e
	}
	return "." + e
}

// inferType names the kind of origin set, or "" when none or several are.
func (o *Origin) inferType() string {
	var kinds []string
	if len(o.Servers) > 0 {
		kinds = append(kinds, OriginHTTP)
	}
	if o.S3 != nil {
		kinds = append(kinds, OriginS3)
	}
	if o.Root != "" {
		kinds = append(kinds, OriginFS)
	}
	if len(kinds) == 1 {
		return kinds[0]
	}
	return ""
}

var envRef = regexp.MustCompile(`^\$\{([^}]*)\}$`)
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces secrets written as "${NAME}" with the variable's value, so they can stay
// out of the file (systemd's EnvironmentFile, a secret manager's injected environment).
func (c *Config) expandEnv(p *problems, lookup func(string) (string, bool)) {
	expand(p, lookup, "admin.token", &c.Admin.Token)
	expand(p, lookup, "cluster.secret", &c.Cluster.Secret)
	expand(p, lookup, "control.password", &c.Control.Password)
	expand(p, lookup, "control.token", &c.Control.Token)
	for i := range c.Domains {
		if sg := c.Domains[i].Access.Sign; sg != nil {
			for j := range sg.Keys {
				expand(p, lookup, fmt.Sprintf("domains[%d].access.sign.keys[%d]", i, j), &sg.Keys[j])
			}
		}
		s := c.Domains[i].Origin.S3
		if s == nil {
			continue
		}
		base := fmt.Sprintf("domains[%d].origin.s3.", i)
		expand(p, lookup, base+"access_key", &s.AccessKey)
		expand(p, lookup, base+"secret_key", &s.SecretKey)
		expand(p, lookup, base+"session_token", &s.SessionToken)
	}
}

func expand(p *problems, lookup func(string) (string, bool), field string, v *string) {
	m := envRef.FindStringSubmatch(*v)
	if m == nil {
		return
	}
	if !envName.MatchString(m[1]) {
		p.add(field, fmt.Sprintf("invalid environment variable name %q in %s", m[1], *v))
		return
	}
	val, ok := lookup(m[1])
	if !ok {
		p.addMachine(field, fmt.Sprintf("environment variable %s is not set", m[1]))
		return
	}
	*v = val
}

// extOf returns the extension of the last segment of a URL path, with its dot, or "".
func extOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return path.Ext(p)
}
