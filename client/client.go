package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls idgate's session API with a project API key. It is safe
// for concurrent use. Create it with New.
type Client struct {
	base          string // no trailing slash
	apiKey        string
	hc            *http.Client
	retries       int
	minBackoff    time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	userAgent     string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc (for
// timeouts, proxies, TLS settings). The revocation feed uses hc's
// Transport without its Timeout, since the stream stays open.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetries sets how many times an idempotent call (verify, userinfo) is
// retried after a 429, a 503 or a network failure; default 3, 0 disables.
// Calls that change state are never retried: a lost answer could otherwise
// apply them twice.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(0, n) } }

// WithBackoff sets the exponential backoff between retries (with jitter):
// min for the first retry, doubling up to max; defaults 100 ms and 2 s. A
// server's Retry-After overrides it when longer.
func WithBackoff(min, max time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff = min, max }
}

// WithMaxRetryAfter caps how long the client waits when the server asks
// for a longer pause (Retry-After) before retrying; beyond it the error
// is returned at once. Default 30 s.
func WithMaxRetryAfter(d time.Duration) Option { return func(c *Client) { c.maxRetryAfter = d } }

// WithUserAgent sets the User-Agent header, which idgate records in its
// audit trail.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the idgate server at baseURL (its public URL,
// e.g. "https://id.example.com") with a project API key (x-api-key).
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("idgate: base URL %q must be an absolute http(s) URL", baseURL)
	}
	c := &Client{
		base: strings.TrimRight(baseURL, "/"), apiKey: apiKey, hc: &http.Client{Timeout: 30 * time.Second},
		retries: 3, minBackoff: 100 * time.Millisecond, maxBackoff: 2 * time.Second, maxRetryAfter: 30 * time.Second,
		userAgent: "idgate-go-sdk/1",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server URL the client was made with, without a
// trailing slash.
func (c *Client) BaseURL() string { return c.base }

// maxResponse caps the body read from the server.
const maxResponse = 4 << 20

// call POSTs in as JSON to path and decodes a 2xx answer into out.
// Idempotent calls are retried on 429, 503 and network failures.
func (c *Client) call(ctx context.Context, path string, idempotent bool, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("idgate %s: encode request: %w", path, err)
	}
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, path, body, out)
		if err == nil {
			return nil
		}
		if !idempotent || attempt >= c.retries || ctx.Err() != nil {
			return err
		}
		wait, retry := c.retryDelay(ctx, err, attempt)
		if !retry {
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// once sends one request.
func (c *Client) once(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("idgate %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-api-key", c.apiKey)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("idgate %s: %w: %w", path, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("idgate %s: read answer: %w: %w", path, ErrUnavailable, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("idgate %s: decode answer: %w", path, err)
		}
		return nil
	}
	return apiError(resp, raw)
}

// apiError turns an error answer into *Error.
func apiError(resp *http.Response, raw []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		RequestID   string `json:"request_id"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error != "" {
		e.Code, e.Description = body.Error, body.Description
		if body.RequestID != "" {
			e.RequestID = body.RequestID
		}
	} else {
		e.Code = http.StatusText(resp.StatusCode)
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryDelay decides whether err is worth another attempt and how long to
// wait first.
func (c *Client) retryDelay(ctx context.Context, err error, attempt int) (time.Duration, bool) {
	var e *Error
	isAPI := errors.As(err, &e)
	switch {
	case isAPI && e.StatusCode != http.StatusTooManyRequests && e.StatusCode != http.StatusServiceUnavailable:
		return 0, false
	case !isAPI && !errors.Is(err, ErrUnavailable):
		return 0, false
	}
	wait := backoff(c.minBackoff, c.maxBackoff, attempt)
	if isAPI && e.RetryAfter > wait {
		if e.RetryAfter > c.maxRetryAfter {
			return 0, false
		}
		wait = e.RetryAfter
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return 0, false
	}
	return wait, true
}

// backoff returns the pause before retry attempt+1: min·2^attempt capped
// at max, with jitter in [d/2, d].
func backoff(min, max time.Duration, attempt int) time.Duration {
	d := min
	for range attempt {
		d *= 2
		if d >= max {
			d = max
			break
		}
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
