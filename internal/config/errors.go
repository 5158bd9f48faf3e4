package config

import (
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. Load and Parse return every problem they find,
// joined with errors.Join, so an operator fixes them all in one pass.
type Error struct {
	File  string // as given to Load or Parse; "" when unknown
	Line  int    // 1-based; 0 when unknown (a value set in Go code, or a missing key with no parent)
	Field string // path such as "domains[1].origin.servers[0].url"; "" for the whole document
	Msg   string
	// Machine marks a problem of the machine the check ran on, not of the document: a file or
	// directory it names is missing here, a ${NAME} is not set in this environment. The same
	// document may be valid on the node it is meant for.
	Machine bool
}

// Error formats e as "FILE:LINE: FIELD: MSG", leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// problems collects Errors against one file, finding each field's line in lines.
type problems struct {
	file  string
	lines map[string]int
	errs  []error
	// portable checks only what does not depend on the machine: the control plane validates a
	// domains document that names certificate files and directories of the nodes, not its own.
	portable bool
}

// add records msg against field, at the line of field or of its nearest written ancestor (a
// missing key is reported where its parent is).
func (p *problems) add(field, msg string) {
	p.errs = append(p.errs, &Error{File: p.file, Line: lineOf(p.lines, field), Field: field, Msg: msg})
}

// addMachine records a problem of this machine (Error.Machine).
func (p *problems) addMachine(field, msg string) {
	p.add(field, msg)
	p.errs[len(p.errs)-1].(*Error).Machine = true
}

// lineOf finds the line of path, or of its nearest ancestor that has one.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}
