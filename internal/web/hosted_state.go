package web

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
)

// Cookies of the hosted login (docs/hosted-login.md). All are HttpOnly,
// SameSite=Lax, and Secure when the public URL is https.
const (
	// hostedCookiePrefix + pool id: the hosted (SSO) session of that pool,
	// a random value whose digest names the server-side record.
	hostedCookiePrefix = "idgate_session_"
	// flowCookie: the handle of the multi-step flow in progress (path
	// /{poolId}/, lives as long as the flow).
	flowCookie = "idgate_flow"
	// deviceCookie: the known-device value, set after a completed sign-in;
	// only its digest is stored, with the user it signed in.
	deviceCookie = "idgate_device"
)

func hostedCookie(poolID string) string { return hostedCookiePrefix + poolID }

// RateLimit is a per-client-IP token bucket: PerMinute tokens a minute, at
// most Burst at once. The zero value means the default (20 a minute, burst
// 10); a negative PerMinute turns the limit off.
type RateLimit struct {
	PerMinute float64
	Burst     int
}

// hostedState is the hosted login's part of the Server.
type hostedState struct {
	hosted    *account.Hosted
	limiter   *rateLimiter
	lastPurge atomic.Int64
}

// initHosted builds the hosted login from the dependencies.
func (s *Server) initHosted() {
	if s.d.Accounts != nil {
		s.hosted = s.d.Accounts.Hosted(s.d.Sealer, s.d.HostedLimits)
	}
	rl := s.d.LoginRateLimit
	if rl.PerMinute == 0 {
		rl = RateLimit{PerMinute: 20, Burst: 10}
	}
	if rl.Burst <= 0 {
		rl.Burst = 1
	}
	if rl.PerMinute > 0 {
		s.limiter = &rateLimiter{rate: rl.PerMinute / 60, burst: float64(rl.Burst), buckets: map[string]*bucket{}}
	}
	if s.d.EndHostedSession == nil {
		s.d.EndHostedSession = s.endHostedSession
	}
}

// cookie returns the value of the named cookie, or "".
func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie sets a hosted-login cookie; a zero expiry deletes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value, path string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(s.d.PublicURL, "https://")}
	if expires.IsZero() {
		c.MaxAge, c.Value = -1, ""
	} else {
		c.Expires = expires
		c.MaxAge = max(1, int(expires.Sub(s.d.Now())/time.Second))
	}
	http.SetCookie(w, c)
}

// setFlow and clearFlow keep the flow handle in its cookie.
func (s *Server) setFlow(w http.ResponseWriter, poolID, handle string) {
	s.setCookie(w, flowCookie, handle, "/"+poolID+"/", s.d.Now().Add(s.hosted.Limits().FlowTTL))
}

func (s *Server) clearFlow(w http.ResponseWriter, poolID string) {
	s.setCookie(w, flowCookie, "", "/"+poolID+"/", time.Time{})
}

// endHostedSession ends the browser's hosted session of the pool and
// deletes its cookie (RP-initiated logout, the account page's sign-out).
func (s *Server) endHostedSession(w http.ResponseWriter, r *http.Request, poolID string) {
	if s.hosted == nil {
		return
	}
	name := hostedCookie(poolID)
	if tok := s.cookie(r, name); tok != "" {
		pool, err := s.d.Store.GetPool(r.Context(), poolID)
		if err == nil {
			err = s.hosted.EndHostedSession(r.Context(), pool, tok, s.actor(r, idgate.ActorUser, ""))
		}
		if err != nil {
			s.d.Logger.ErrorContext(r.Context(), "end hosted session", "err", err.Error())
		}
	}
	s.setCookie(w, name, "", "/", time.Time{})
}

// limited applies the per-IP rate limit to a hosted form post, and now and
// then purges expired hosted-login records.
func (s *Server) limited(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.d.Now()
		if s.limiter != nil {
			if wait := s.limiter.take(s.clientIP(r), now); wait > 0 {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				s.render(w, r, http.StatusTooManyRequests, "error", page{Title: "Too many requests",
					Message:   "Too many attempts from your network. Wait " + strconv.Itoa(secs) + " seconds and try again.",
					RequestID: requestID(r.Context())})
				return
			}
		}
		if last := s.lastPurge.Load(); s.hosted != nil && now.Unix()-last > 600 && s.lastPurge.CompareAndSwap(last, now.Unix()) {
			if _, err := s.hosted.Purge(r.Context()); err != nil {
				s.d.Logger.ErrorContext(r.Context(), "purge hosted login records", "err", err.Error())
			}
		}
		h(w, r)
	})
}

// rateLimiter holds one token bucket per client IP.
type rateLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take spends a token of ip's bucket and returns 0, or how long until one
// is available.
func (l *rateLimiter) take(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 100_000 { // forget full buckets: they are the same as new ones
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
