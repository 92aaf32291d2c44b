package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// sentinel is the type of the error codes below: errors.Is(err, ErrX)
// matches an *Error carrying that code.
type sentinel string

// Error returns the code with an "idgate: " prefix.
func (s sentinel) Error() string { return "idgate: " + string(s) }

// The error codes of the idgate API (SPEC §3). Match them with errors.Is;
// use errors.As with *Error for the description and request id.
var (
	// ErrInvalidRequest: a field is missing or malformed (400).
	ErrInvalidRequest error = sentinel("invalid_request")
	// ErrInvalidClient: unknown client id or wrong client secret (401).
	ErrInvalidClient error = sentinel("invalid_client")
	// ErrInvalidGrant: the code or refresh token is unknown, expired, used
	// or revoked (400).
	ErrInvalidGrant error = sentinel("invalid_grant")
	// ErrInvalidToken: the access token is not active: bad signature,
	// expired, or its session ended (401).
	ErrInvalidToken error = sentinel("invalid_token")
	// ErrUnauthorized: the API key is missing, wrong or revoked (401).
	ErrUnauthorized error = sentinel("unauthorized")
	// ErrInsufficientPermissions: the API key lacks the permission the
	// call needs, or (Middleware) the token lacks a required scope, role,
	// group or action (403).
	ErrInsufficientPermissions error = sentinel("insufficient_permissions")
	// ErrNotFound: the user, app or pool does not exist (404).
	ErrNotFound error = sentinel("not_found")
	// ErrConflict: the change conflicts with the current state (409).
	ErrConflict error = sentinel("conflict")
	// ErrRateLimited: too many requests; see Error.RetryAfter (429).
	ErrRateLimited error = sentinel("rate_limited")
	// ErrUnavailable: idgate is unreachable or temporarily unavailable
	// (503, a gateway error, or a network failure).
	ErrUnavailable error = sentinel("unavailable")
)

// ErrLoginRequired is returned by TokenSource when the user has no stored
// tokens, or the refresh token has expired or its session was revoked: the
// application must send the user through the hosted login again. The
// stored tokens have been deleted by then.
var ErrLoginRequired = errors.New("idgate: login required")

// Error is an error answer of the idgate API:
// {"error", "error_description", "request_id"} with its HTTP status.
type Error struct {
	StatusCode  int
	Code        string // e.g. "invalid_grant"
	Description string
	RequestID   string // quote it when reporting a problem
	// RetryAfter is the server's Retry-After (429, 503), zero when absent.
	RetryAfter time.Duration
}

// Error describes the answer: code, status, description and request id.
func (e *Error) Error() string {
	s := fmt.Sprintf("idgate: %s (HTTP %d)", e.Code, e.StatusCode)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.RequestID != "" {
		s += " [request_id " + e.RequestID + "]"
	}
	return s
}

// Is matches the sentinel of the error's code. An answer without a known
// code (from a proxy, say) matches by status: 429 is ErrRateLimited, 502,
// 503 and 504 are ErrUnavailable, 404 is ErrNotFound.
func (e *Error) Is(target error) bool {
	t, ok := target.(sentinel)
	if !ok {
		return false
	}
	if string(t) == e.Code {
		return true
	}
	switch e.StatusCode {
	case http.StatusTooManyRequests:
		return t == ErrRateLimited
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return t == ErrUnavailable
	case http.StatusNotFound:
		return t == ErrNotFound
	}
	return false
}
