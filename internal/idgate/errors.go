package idgate

import "fmt"

// Error codes of the API error model (SPEC §3). The HTTP edge maps each code
// to its status; the domain never names a status.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeInvalidToken            = "invalid_token"
	CodeUnauthorized            = "unauthorized"
	CodeInsufficientPermissions = "insufficient_permissions"
	CodeNotFound                = "not_found"
	CodeConflict                = "conflict"
	CodeRateLimited             = "rate_limited"
	CodeUnavailable             = "unavailable"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeInvalidScope            = "invalid_scope"
)

// Error is a client-facing error: a stable code, a description safe to show
// to the caller, and optionally the field at fault. Values are created by
// the constructors below and never mutated.
type Error struct {
	Code        string
	Description string
	Field       string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// InvalidRequest reports a bad or missing field; the description names it.
func InvalidRequest(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Description: field + ": " + fmt.Sprintf(format, args...)}
}

// InvalidGrant reports a code or refresh token that is unknown, expired,
// used, revoked, or bound to another client.
func InvalidGrant(desc string) *Error { return &Error{Code: CodeInvalidGrant, Description: desc} }

// InvalidClient reports a failed client authentication.
func InvalidClient(desc string) *Error { return &Error{Code: CodeInvalidClient, Description: desc} }

// InvalidToken reports a token that is not active.
func InvalidToken(desc string) *Error { return &Error{Code: CodeInvalidToken, Description: desc} }

// NotFoundError reports a missing resource.
func NotFoundError(desc string) *Error { return &Error{Code: CodeNotFound, Description: desc} }

// ConflictError reports a duplicate or a state that forbids the change.
func ConflictError(desc string) *Error { return &Error{Code: CodeConflict, Description: desc} }

// Forbidden reports a credential without the needed permission.
func Forbidden(desc string) *Error {
	return &Error{Code: CodeInsufficientPermissions, Description: desc}
}

// Actor is who performs an action, for authorization and the audit trail.
type Actor struct {
	Type      string // ActorAPIKey, ActorAdmin, ActorUser, ActorSystem
	ID        string
	IP        string
	UserAgent string
}
