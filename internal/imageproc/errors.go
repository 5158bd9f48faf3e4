package imageproc

import "fmt"

// ParamError reports an unknown, malformed or out-of-range transform
// parameter. The edge answers 400 with its message, so it names the
// parameter the client wrote (for OSS dialects "op.key", e.g. "resize.w").
type ParamError struct {
	Param string // the parameter as written by the client
	Value string // the offending value ("" when the parameter itself is unknown)
	Msg   string // why it was refused
}

func (e *ParamError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("image parameter %q: %s", e.Param, e.Msg)
	}
	return fmt.Sprintf("image parameter %q=%q: %s", e.Param, e.Value, e.Msg)
}

func paramErr(param, value, msg string) error {
	return &ParamError{Param: param, Value: value, Msg: msg}
}
