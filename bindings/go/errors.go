package vecstore

import "errors"

// Error is the error every failing vecstore call returns: the C status code
// and the message vecstore_last_error() gave for that call (read on the same
// OS thread, inside the same cgo call, so it always belongs to this failure).
//
// Compare with the sentinels using errors.Is:
//
//	if errors.Is(err, vecstore.ErrNotFound) { ... }
//
// or get at the code and message with errors.As:
//
//	var e *vecstore.Error
//	if errors.As(err, &e) { log.Print(e.Code, e.Message) }
type Error struct {
	Code    Status // the vecstore_status the C call returned
	Message string // vecstore_last_error() for that call; may be empty
}

// Error returns the library's message followed by the status name.
func (e *Error) Error() string {
	if e.Message == "" {
		return "vecstore: " + e.Code.String()
	}
	return e.Message + " (" + e.Code.String() + ")"
}

// Is reports whether target is an *Error with the same status code, which
// makes errors.Is(err, ErrNotFound) and the other sentinels work.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors, one per status code; match them with errors.Is.
var (
	ErrNotFound          error = &Error{Code: StatusNotFound}
	ErrInvalidArgument   error = &Error{Code: StatusInvalidArgument}
	ErrDimensionMismatch error = &Error{Code: StatusDimensionMismatch}
	ErrIO                error = &Error{Code: StatusIO}
	ErrCorrupt           error = &Error{Code: StatusCorrupt}
	ErrLocked            error = &Error{Code: StatusLocked}
	ErrReadOnly          error = &Error{Code: StatusReadOnly}
	ErrNoSpace           error = &Error{Code: StatusNoSpace}
	ErrVersionMismatch   error = &Error{Code: StatusVersionMismatch}
	ErrInternal          error = &Error{Code: StatusInternal}
)

// ErrClosed is returned by methods of a Store after Close, of a Cursor after
// Close. It is a Go-side condition, not a C status.
var ErrClosed = errors.New("vecstore: use of a closed handle")

// goError is an error detected in Go before calling C (for example a batch
// whose length is not a multiple of the dimension), reported with the status
// the C library would have used.
func goError(code Status, msg string) error {
	return &Error{Code: code, Message: msg}
}
