package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/idgate/idgate/internal/idgate"
)

// maxBodyBytes caps every JSON request body.
const maxBodyBytes = 1 << 20

// statusOf maps an error code to its HTTP status.
var statusOf = map[string]int{
	idgate.CodeInvalidRequest:          http.StatusBadRequest,
	idgate.CodeInvalidGrant:            http.StatusBadRequest,
	idgate.CodeUnsupportedGrantType:    http.StatusBadRequest,
	idgate.CodeInvalidScope:            http.StatusBadRequest,
	idgate.CodeUnauthorizedClient:      http.StatusBadRequest,
	idgate.CodeInvalidClient:           http.StatusUnauthorized,
	idgate.CodeInvalidToken:            http.StatusUnauthorized,
	idgate.CodeUnauthorized:            http.StatusUnauthorized,
	idgate.CodeInsufficientPermissions: http.StatusForbidden,
	idgate.CodeNotFound:                http.StatusNotFound,
	idgate.CodeConflict:                http.StatusConflict,
	idgate.CodeRateLimited:             http.StatusTooManyRequests,
	idgate.CodeUnavailable:             http.StatusServiceUnavailable,
	codeTooLarge:                       http.StatusRequestEntityTooLarge,
	codeUnsupportedMedia:               http.StatusUnsupportedMediaType,
	codeMethodNotAllowed:               http.StatusMethodNotAllowed,
}

// Error codes only the HTTP edge produces.
const (
	codeTooLarge         = "request_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeMethodNotAllowed = "method_not_allowed"
	codeServerError      = "server_error"
)

// apiError is the JSON error body of every API surface.
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	RequestID   string `json:"request_id"`
}

// handlerFunc is the one handler shape of the API surfaces: it returns an
// error, and writeError turns it into the response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// api adapts a handlerFunc to http.Handler.
func api(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

// writeError writes err as the JSON error model. Client errors carry their
// own description; anything else is logged with the request id and answered
// with a generic message (503 when storage is down), never with internals.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *idgate.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, idgate.ErrUnavailable):
		slog.ErrorContext(r.Context(), "storage unavailable", "err", err.Error())
		e = &idgate.Error{Code: idgate.CodeUnavailable, Description: "the service is temporarily unavailable; retry shortly"}
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	default:
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err.Error())
		e = &idgate.Error{Code: codeServerError, Description: "internal error; quote the request_id when reporting it"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized && e.Code == idgate.CodeInvalidToken {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, apiError{Error: e.Code, Description: e.Description, RequestID: requestID(r.Context())})
}

// writeJSON writes v as JSON with the status. Content-Type and
// Cache-Control default to JSON and no-store unless the handler set them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON object body into v: the content type must be
// JSON, the body at most maxBodyBytes, a single object, and (strict) no
// unknown fields. Errors name the offending field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, strict bool) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &idgate.Error{Code: codeUnsupportedMedia, Description: "Content-Type must be application/json"}
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return idgate.InvalidRequest("body", "must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &idgate.Error{Code: codeTooLarge, Description: "request body exceeds " + strconv.Itoa(maxBodyBytes) + " bytes"}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return idgate.InvalidRequest("body", "must be a JSON object")
		}
		return idgate.InvalidRequest(field, "must be a JSON %s", jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return idgate.InvalidRequest("body", "is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return idgate.InvalidRequest("body", "is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return idgate.InvalidRequest("body", "is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return idgate.InvalidRequest(name, "is not a field of this request")
	}
	return idgate.InvalidRequest("body", "could not be read: %s", trimErr(err))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return "number"
}

func trimErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return fmt.Sprint(strings.TrimPrefix(s, "json: "))
}
