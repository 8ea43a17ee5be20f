// Package ginflix holds the domain vocabulary of the platform: videos,
// renditions, jobs, users, playback events, the errors they produce and the
// interfaces of the stores that keep them. It imports no infrastructure.
package ginflix

import (
	"errors"
	"fmt"
)

// Error codes, mapped to HTTP statuses in one place (the api package).
const (
	ECONFLICT       = "conflict"
	EINTERNAL       = "internal"
	EINVALID        = "invalid"
	ENOTFOUND       = "not_found"
	EUNAUTHORIZED   = "unauthorized"
	EFORBIDDEN      = "forbidden"
	ETOOLARGE       = "too_large"
	ERANGE          = "range_not_satisfiable"
	EUNAVAILABLE    = "unavailable"
	ENOTIMPLEMENTED = "not_implemented"
	// EUNPROCESSABLE is well-formed input that the rules refuse.
	EUNPROCESSABLE = "unprocessable"
	// ERATELIMITED asks the client to slow down (Retry-After).
	ERATELIMITED = "rate_limited"
)

// Error is an error a client may see: its Message must be safe to show.
type Error struct {
	Code    string
	Message string
	// Param names the request parameter at fault, when there is one.
	Param string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ginflix error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidParam returns an EINVALID error naming the parameter at fault.
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the client-safe message of err; internal errors get a
// generic one so that their details never leak.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Internal error."
	}
}
