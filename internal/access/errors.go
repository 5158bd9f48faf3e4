package access

// Reason is the short token a failed verification carries, meant for a response header such as
// X-Pixcdn-Denied so that an operator can tell a stale link from a forged one without logs.
type Reason string

// The reasons Verify can give.
const (
	ReasonMissing     Reason = "missing"       // no signing parameters or path segments at all
	ReasonMalformed   Reason = "malformed"     // signing parts present but not in the format
	ReasonExpired     Reason = "expired"       // signature good, validity window over
	ReasonNotYetValid Reason = "not-yet-valid" // signature good, timestamp too far in the future
	ReasonMismatch    Reason = "mismatch"      // no configured key produces this signature
)

// VerifyError is the error Verify returns. Compare with errors.Is against the Err* values, which
// match any VerifyError of the same reason.
type VerifyError struct {
	reason Reason
	detail string
}

// The sentinels for errors.Is.
var (
	ErrMissing     = &VerifyError{reason: ReasonMissing}
	ErrMalformed   = &VerifyError{reason: ReasonMalformed}
	ErrExpired     = &VerifyError{reason: ReasonExpired}
	ErrNotYetValid = &VerifyError{reason: ReasonNotYetValid}
	ErrMismatch    = &VerifyError{reason: ReasonMismatch}
)

func (e *VerifyError) Error() string {
	if e.detail == "" {
		return "access: signature " + string(e.reason)
	}
	return "access: signature " + string(e.reason) + ": " + e.detail
}

// Reason returns the short token for a response header.
func (e *VerifyError) Reason() string { return string(e.reason) }

// Is makes errors.Is(err, ErrExpired) true for every expired error, whatever its detail.
func (e *VerifyError) Is(target error) bool {
	t, ok := target.(*VerifyError)
	return ok && t.reason == e.reason
}

func fail(r Reason, detail string) error { return &VerifyError{reason: r, detail: detail} }
