package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

// Deps are what the HTTP edge needs from the rest of idgate.
type Deps struct {
	Tokens   *token.Service
	Accounts *account.Service
	Tenants  *tenant.Service
	Webhooks *tenant.Webhooks
	Store    idgate.Store // read-only lookups for the hosted pages and readiness
	// AdminTokenDigest is the SHA-256 (secret.Digest) of the admin API's
	// bearer token.
	AdminTokenDigest string
	PublicURL        string
	Logger           *slog.Logger
	// TrustProxy makes the client IP come from X-Forwarded-For.
	TrustProxy bool
	Now        func() time.Time
	// EndedSessions, when set, wakes the revocation feed's streams as soon
	// as this process ends sessions.
	EndedSessions *idgate.EndedSessions
	// EndHostedSession, when set, ends the browser's hosted login session
	// of the pool (RP-initiated logout).
	EndHostedSession func(w http.ResponseWriter, r *http.Request, poolID string)
	// Sealer is the master-key sealer of the hosted login: TOTP secrets and
	// pending sign-ups are encrypted with it. Without it, sign-up and MFA
	// report that they are unavailable (password sign-in still works).
	Sealer *secret.Sealer
	// HostedLimits tunes the hosted login (zero fields take the defaults of
	// account.DefaultHostedLimits).
	HostedLimits account.HostedLimits
	// LoginRateLimit is the per-IP limit on the hosted pages' form posts.
	LoginRateLimit RateLimit
	// Console runs the admin console under /admin; without it the console
	// pages say that it is disabled.
	Console *console.Service
	// Outbox is the development mailer whose captured emails the console
	// shows (nil when mail goes out over SMTP only).
	Outbox *notify.Outbox
}

// Server is the HTTP edge.
type Server struct {
	d       Deps
	ready   func() bool
	metrics *metrics
	hostedState
}

// New returns the server; ready reports whether /readyz answers 200.
func New(d Deps, ready func() bool) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, ready: ready, metrics: newMetrics()}
	s.initHosted()
	return s
}

type ctxKey int

const requestIDKey ctxKey = 1

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Handler returns the complete handler: routes wrapped in the common
// middleware (request id, recovery, access log, security headers).
func (s *Server) Handler() http.Handler {
	return s.middleware(s.routes())
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(s.d.PublicURL, "https://") {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.d.Logger.ErrorContext(ctx, "panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeJSON(rec, http.StatusInternalServerError, apiError{Error: codeServerError, Description: "internal error; quote the request_id when reporting it", RequestID: id})
				}
			}
			s.metrics.observe(r, rec.status, time.Since(start))
			s.d.Logger.LogAttrs(ctx, slog.LevelInfo, "http",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)), slog.String("ip", s.clientIP(r)))
		}()
		next.ServeHTTP(rec, r)
	})
}

// clientIP is the caller's address: the socket peer, or the first
// X-Forwarded-For hop when idgate runs behind a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	if s.d.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// actor describes the caller for the audit trail.
func (s *Server) actor(r *http.Request, typ, id string) idgate.Actor {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return idgate.Actor{Type: typ, ID: id, IP: s.clientIP(r), UserAgent: ua}
}
