package h1

import "net/http"

// FieldsWriter is implemented by h1's ResponseWriter. AddFields adds header fields that the
// caller serialized once with AppendFields and reuses for many responses (a cached object's
// stored header): they go out after the Header map's fields, with no map to fill and nothing
// to check per response. date says the block has a Date field (the server then adds none).
// It must be called before the header is sent; a second call replaces the first block. The
// caller keeps names that are in the map out of the block.
type FieldsWriter interface {
	AddFields(block []byte, date bool)
}

var _ FieldsWriter = (*response)(nil)

// AddFields is FieldsWriter's.
func (w *response) AddFields(block []byte, date bool) {
	if !w.commited && !w.done {
		w.fields, w.fieldsDate = block, date
	}
}

// FieldsWriterOf returns w's FieldsWriter when w is (or wraps, through Unwrap) an h1
// ResponseWriter, else nil.
func FieldsWriterOf(w http.ResponseWriter) FieldsWriter {
	for range maxUnwrap {
		switch t := w.(type) {
		case FieldsWriter:
			return t
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// AppendFields appends h's fields to dst as AddFields takes them: "Name: value\r\n" lines,
// without the fields the server frames the message with and without names or values it would
// not send from a Header map either; skip leaves out more names.
func AppendFields(dst []byte, h http.Header, skip func(name string) bool) []byte {
	for k, vv := range h {
		if !sendable(k) || (skip != nil && skip(k)) {
			continue
		}
		for _, v := range vv {
			if isFieldValue(v) {
				dst = append(dst, k...)
				dst = append(dst, ": "...)
				dst = append(dst, v...)
				dst = append(dst, "\r\n"...)
			}
		}
	}
	return dst
}

// sendable says whether a field named k of a handler's header is sent: the framing fields
// are the server's, and a name that is not a token would break the message.
func sendable(k string) bool {
	switch k {
	case "Content-Length", "Transfer-Encoding", "Connection":
		return false
	}
	return isToken(k)
}
