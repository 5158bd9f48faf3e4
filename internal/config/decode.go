package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the nodes one document may expand to, so a small file of nested aliases (a
// "billion laughs") cannot make decoding take unbounded time or memory. Real configurations,
// even with thousands of domains, stay far below it.
var maxNodes = 1 << 20 // a var so tests can lower it

// defaulter is implemented by the structs that have defaults. The decoder calls setDefaults on
// every struct it creates (a list item, a pointer) before filling it from the document, so a key
// left out keeps its default while a key written as 0 stays 0.
type defaulter interface{ setDefaults() }

// decoder fills structs from a yaml.Node tree by hand rather than through yaml's own decoding,
// because it must reject unknown keys with their full field path and record the line of every
// field, neither of which yaml.Node.Decode offers.
type decoder struct {
	problems
	nodes int
	// inside holds the anchored nodes being decoded, so an alias to one of its own ancestors
	// ("a: &x {<<: *x}", which yaml's parser allows) is an error instead of endless recursion.
	inside map[*yaml.Node]bool
}

// readDocument parses data into its single document's root node; nil for an empty document.
func readDocument(data []byte, file string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(file, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(file, err)
		}
		return nil, &Error{File: file, Line: next.Line, Msg: "only one YAML document per file is allowed"}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntaxError turns yaml's "yaml: line 3: msg" into an *Error. The parser's errors about an
// unclosed construct ("did not find expected ',' or ']'", "... '-' indicator", "... key") name
// the line where that construct began counted from 0 (its other errors and the scanner's count
// from 1: go.yaml.in/yaml/v3 decode.go, parser.fail), so they are moved one line on.
func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected") && !strings.HasSuffix(m[2], "node content") {
			line++
		}
		return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: file, Msg: "invalid YAML: " + msg}
}

// maxErrors bounds the report: past it the rest is noise, and an aliased mapping of unknown keys
// could otherwise multiply errors like nodes.
const maxErrors = 100

func (d *decoder) addAt(line int, field, msg string) {
	switch {
	case len(d.errs) < maxErrors:
		d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Msg: msg})
	case len(d.errs) == maxErrors:
		d.errs = append(d.errs, &Error{File: d.file, Msg: fmt.Sprintf("more than %d errors; stopped reporting", maxErrors)})
	}
}

// value decodes n into v, which must be addressable.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}
	defer d.leave(n)
	if !d.spend(n, path) {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" or "key: ~" keeps the default
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			if def, ok := v.Interface().(defaulter); ok {
				def.setDefaults()
			}
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.dict(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

// enter resolves aliases and marks the anchored node n as being decoded; false when n is already
// being decoded further up (a cycle), which it reports.
func (d *decoder) enter(n *yaml.Node, path string) (*yaml.Node, bool) {
	alias := n
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Anchor == "" {
		return n, true
	}
	if d.inside[n] {
		d.addAt(alias.Line, path, fmt.Sprintf("alias *%s refers to a node that contains it", n.Anchor))
		return n, false
	}
	if d.inside == nil {
		d.inside = map[*yaml.Node]bool{}
	}
	d.inside[n] = true
	return n, true
}

func (d *decoder) leave(n *yaml.Node) { delete(d.inside, n) }

// spend counts one node against maxNodes and reports false, with one error, once it is exceeded.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	d.nodes++
	if d.nodes == maxNodes+1 {
		d.addAt(n.Line, path, fmt.Sprintf("document too large: more than %d nodes after expanding aliases", maxNodes))
	}
	return d.nodes <= maxNodes
}

// mapping decodes a mapping into a struct, merge keys ("<<: *base") first so that keys written
// beside them win.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addAt(n.Line, path, "expected a mapping, got "+kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, path)
		}
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			continue
		}
		if !d.spend(k, path) {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.addAt(k.Line, path, "keys must be plain strings, got "+kindName(k))
			continue
		}
		fp := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.addAt(k.Line, fp, fmt.Sprintf("duplicate key (first written on line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.addAt(k.Line, fp, unknownField(k.Value, fields))
			continue
		}
		d.lines[fp] = k.Line
		d.value(val, v.Field(idx), fp)
	}
}

// merge applies the value of a "<<" key: a mapping or a list of mappings, usually aliases.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}
	defer d.leave(n)
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			d.merge(item, v, path)
		}
		return
	}
	if d.spend(n, path) {
		d.mapping(n, v, path)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.addAt(n.Line, path, "expected a list, got "+kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ip := path + "[" + strconv.Itoa(i) + "]"
		d.lines[ip] = item.Line
		e := s.Index(i)
		if def, ok := e.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
		d.value(item, e, ip)
	}
	v.Set(s)
}

// dict decodes a mapping into a Go map; entries are named "path[key]".
func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addAt(n.Line, path, "expected a mapping, got "+kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := reflect.New(v.Type().Key())
		if k.Kind != yaml.ScalarNode || k.Decode(key.Interface()) != nil {
			d.addAt(k.Line, path, fmt.Sprintf("invalid key %q: want %s", k.Value, typeName(v.Type().Key())))
			continue
		}
		ep := fmt.Sprintf("%s[%v]", path, key.Elem())
		if first, dup := seen[ep]; dup {
			d.addAt(k.Line, ep, fmt.Sprintf("duplicate key (first written on line %d)", first))
			continue
		}
		seen[ep] = k.Line
		d.lines[ep] = k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, ep)
		m.SetMapIndex(key.Elem(), elem)
	}
	v.Set(m)
}

// scalar decodes a leaf; Size and Duration come through their UnmarshalYAML.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.addAt(n.Line, path, "expected "+typeName(v.Type())+", got "+kindName(n))
		return
	}
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	var ce *Error
	var te *yaml.TypeError
	switch {
	case errors.As(err, &ce):
		d.addAt(ce.Line, path, ce.Msg)
	case errors.As(err, &te) && len(te.Errors) > 0:
		d.addAt(n.Line, path, fmt.Sprintf("invalid value %q: want %s", n.Value, typeName(v.Type())))
	default:
		d.addAt(n.Line, path, err.Error())
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps each yaml key of struct type t to its field index.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		fields[name] = i
	}
	return fields
}

func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Size]():
		return "a size such as 64MiB"
	case reflect.TypeFor[Duration]():
		return `a duration such as "10s"`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// unknownField names the closest known key when the unknown one looks like a typo.
func unknownField(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for name := range fields {
		if dist := editDistance(strings.ToLower(key), name); dist < bestDist || dist == bestDist && best != "" && name < best {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field (did you mean %q?)", best)
	}
	return "unknown field"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
