package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// NewHTTPClient returns a client tuned for load generation against one
// host: enough idle keep-alive connections for every worker (so no request
// pays for a new TCP connection), no proxy, no automatic redirects (the
// hosted login's redirects are followed by hand, as the flows check them).
func NewHTTPClient(concurrency int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Client talks to a running idgate the way an application back end and a
// browser without JavaScript do.
type Client struct {
	BaseURL      string
	HTTP         *http.Client
	APIKey       string
	ClientID     string
	ClientSecret string
	// ForwardedFor makes each hosted login come from its own made-up
	// client address (an X-Forwarded-For header), so that the server's
	// per-IP sign-in rate limit does not cap a load test run from one
	// machine. It works only against a server started with --trust-proxy.
	ForwardedFor bool
}

// Credentials are what project creation returns (the fields bench uses).
type Credentials struct {
	ProjectID    string `json:"projectId"`
	UserPoolID   string `json:"userPoolId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	APIKey       string `json:"apiKey"`
	CodeURL      string `json:"codeURL"`
}

// Tokens is a token response.
type Tokens struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// StatusError is an unexpected HTTP answer. Its message carries the status
// and the API error code only (no request id), so that equal failures are
// counted together.
type StatusError struct {
	Step   string
	Status int
	Code   string
}

func (e *StatusError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: status %d %s", e.Step, e.Status, e.Code)
	}
	return fmt.Sprintf("%s: status %d", e.Step, e.Status)
}

// do sends a request and returns the status and body. The body is read to
// the end so the connection is reused.
func (c *Client) do(ctx context.Context, method, path string, header http.Header, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.BaseURL + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, nil, trimNetErr(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, trimNetErr(err)
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// trimNetErr drops the URL from transport errors so that equal failures
// are counted together.
func trimNetErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func statusErr(step string, status int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return &StatusError{Step: step, Status: status, Code: e.Error}
}

// sessionAPI posts a JSON body (already encoded) to a session API endpoint
// and returns the body of a 200 answer.
func (c *Client) sessionAPI(ctx context.Context, endpoint string, body []byte) ([]byte, error) {
	h := http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {c.APIKey}}
	status, _, raw, err := c.do(ctx, http.MethodPost, "/v2/sessionmgt/"+endpoint, h, body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusErr(endpoint, status, raw)
	}
	return raw, nil
}

// AccessTokenBody is the JSON body of verify and userinfo for a token.
func AccessTokenBody(accessToken string) []byte {
	b, _ := json.Marshal(map[string]string{"accessToken": accessToken})
	return b
}

// RefreshBody is the JSON body of refreshaccesstoken.
func (c *Client) RefreshBody(refreshToken string) []byte {
	m := map[string]string{"refreshToken": refreshToken, "clientId": c.ClientID}
	if c.ClientSecret != "" {
		m["clientSecret"] = c.ClientSecret
	}
	b, _ := json.Marshal(m)
	return b
}

var activeTrue = []byte(`"active":true`)

// Verify calls verifyaccesstoken with a prepared body (AccessTokenBody)
// and fails unless the token is reported active.
func (c *Client) Verify(ctx context.Context, body []byte) error {
	raw, err := c.sessionAPI(ctx, "verifyaccesstoken", body)
	if err != nil {
		return err
	}
	if !bytes.Contains(raw, activeTrue) {
		return errors.New("verifyaccesstoken: token not active")
	}
	return nil
}

// UserInfo calls userinfofromaccesstoken with a prepared body.
func (c *Client) UserInfo(ctx context.Context, body []byte) error {
	_, err := c.sessionAPI(ctx, "userinfofromaccesstoken", body)
	return err
}

// Refresh calls refreshaccesstoken with a prepared body (RefreshBody).
func (c *Client) Refresh(ctx context.Context, body []byte) error {
	_, err := c.sessionAPI(ctx, "refreshaccesstoken", body)
	return err
}

// Baseline calls the server's trivial handler, the HTTP ceiling.
func (c *Client) Baseline(ctx context.Context) error {
	status, _, raw, err := c.do(ctx, http.MethodGet, "/bench/baseline", nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return statusErr("baseline", status, raw)
	}
	return nil
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// Login runs the hosted login as a browser without JavaScript does: the
// app's code URL, the login page, the form POST with email and password.
// It returns the single-use code from the callback redirect. The pool must
// not require MFA.
func (c *Client) Login(ctx context.Context, email, password string) (string, error) {
	var browser http.Header
	if c.ForwardedFor {
		browser = http.Header{"X-Forwarded-For": {fmt.Sprintf("10.%d.%d.%d", rand.IntN(256), rand.IntN(256), 1+rand.IntN(254))}}
	}
	status, h, raw, err := c.do(ctx, http.MethodGet, "/v2/mfa/code/"+c.ClientID, browser, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusFound {
		return "", statusErr("code URL", status, raw)
	}
	loginURL, err := url.Parse(h.Get("Location"))
	if err != nil {
		return "", fmt.Errorf("code URL: bad redirect: %w", err)
	}
	status, _, page, err := c.do(ctx, http.MethodGet, loginURL.String(), browser, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", statusErr("login page", status, page)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllSubmatch(page, -1) {
		form.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	form.Set("email", email)
	form.Set("password", password)
	post := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for k, v := range browser {
		post[k] = v
	}
	status, h, raw, err = c.do(ctx, http.MethodPost, loginURL.Path, post, []byte(form.Encode()))
	if err != nil {
		return "", err
	}
	if status != http.StatusSeeOther {
		return "", &StatusError{Step: "login POST", Status: status}
	}
	cb, err := url.Parse(h.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		return "", fmt.Errorf("login POST: no code in the redirect %q", h.Get("Location"))
	}
	return cb.Query().Get("code"), nil
}

// Exchange redeems a code with gettokenfromcode.
func (c *Client) Exchange(ctx context.Context, code string) (Tokens, error) {
	m := map[string]string{"code": code, "clientId": c.ClientID}
	if c.ClientSecret != "" {
		m["clientSecret"] = c.ClientSecret
	}
	body, _ := json.Marshal(m)
	raw, err := c.sessionAPI(ctx, "gettokenfromcode", body)
	if err != nil {
		return Tokens{}, err
	}
	var t Tokens
	if err := json.Unmarshal(raw, &t); err != nil {
		return Tokens{}, fmt.Errorf("gettokenfromcode: %w", err)
	}
	return t, nil
}

// SignIn logs in and exchanges the code: a new session's tokens.
func (c *Client) SignIn(ctx context.Context, email, password string) (Tokens, error) {
	code, err := c.Login(ctx, email, password)
	if err != nil {
		return Tokens{}, err
	}
	return c.Exchange(ctx, code)
}

// Admin calls the admin API with the bearer token and decodes a 2xx answer
// into out.
func (c *Client) Admin(ctx context.Context, adminToken, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	h := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}}
	status, _, raw, err := c.do(ctx, method, path, h, b)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("%s %s: status %d %s %s", method, path, status, e.Error, e.Description)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// CreateSandbox creates a sandbox project for benchmarking through the
// admin API: a confidential web app, MFA off (so the hosted login is
// password only), signing with alg (the server's default when empty).
// The client adopts its app and API key.
func (c *Client) CreateSandbox(ctx context.Context, adminToken, name, alg string) (Credentials, error) {
	body := map[string]any{
		"name": name, "environment": "sandbox", "appType": "web", "mfa": "off",
		"callbackUrls": []string{"https://bench.invalid/callback"},
	}
	if alg != "" {
		body["signingAlg"] = alg
	}
	var creds Credentials
	if err := c.Admin(ctx, adminToken, http.MethodPost, "/admin/api/projects", body, &creds); err != nil {
		return Credentials{}, err
	}
	c.APIKey, c.ClientID, c.ClientSecret = creds.APIKey, creds.ClientID, creds.ClientSecret
	return creds, nil
}

// CreateUser creates a confirmed user in the pool through the admin API.
func (c *Client) CreateUser(ctx context.Context, adminToken, poolID, email, password string) error {
	return c.Admin(ctx, adminToken, http.MethodPost, "/admin/api/pools/"+url.PathEscape(poolID)+"/users",
		map[string]any{"email": email, "password": password, "confirmed": true}, nil)
}
