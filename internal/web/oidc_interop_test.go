package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestGoOIDCInterop runs a complete relying party built on
// github.com/coreos/go-oidc and golang.org/x/oauth2, unmodified, against a
// real idgate server over HTTP.
func TestGoOIDCInterop(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "walt@example.com")
	ctx := context.Background()

	provider, err := oidc.NewProvider(ctx, c.Issuer) // discovery; checks the issuer
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: "https://app.example/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456"))
	cb := e.loginFrom(authURL, "walt@example.com", "correct horse battery staple")
	if cb.Query().Get("state") != "state-123" || cb.Query().Get("iss") != c.Issuer {
		t.Fatalf("callback = %s", cb)
	}
	tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idVerifier := provider.Verifier(&oidc.Config{ClientID: c.ClientID})
	idt, err := idVerifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	if idt.Nonce != "nonce-456" || idt.Subject != u.Sub {
		t.Fatalf("id token nonce %q sub %q", idt.Nonce, idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != u.Sub || info.Email != "walt@example.com" {
		t.Fatalf("userinfo = %+v", info)
	}

	// Refresh through the token source after expiry.
	expired := *tok
	expired.Expiry = expired.Expiry.Add(-48 * 3600e9)
	fresh, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken {
		t.Fatal("refresh returned the same access token")
	}
	if _, err := idVerifier.Verify(ctx, fresh.Extra("id_token").(string)); err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}

	// Introspect, revoke, introspect again: standard endpoints from discovery.
	var meta struct {
		Introspection string `json:"introspection_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	introspect := func() bool {
		req, _ := http.NewRequest("POST", meta.Introspection, strings.NewReader(url.Values{"token": {fresh.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ClientID, c.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct{ Active bool }
		json.NewDecoder(resp.Body).Decode(&r)
		return r.Active
	}
	if !introspect() {
		t.Fatal("fresh access token inactive")
	}
	req, _ := http.NewRequest("POST", meta.Revocation, strings.NewReader(url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if introspect() {
		t.Fatal("access token active after revoking the refresh token")
	}
	if _, err := conf.TokenSource(ctx, &expired).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after revoke: %v", err)
	}
}

// TestJavaScriptRelyingParty runs panva's oauth4webapi (interop/js) with
// the machine's Node against a real idgate server. .ci/run installs its
// dependencies with npm ci from the committed lockfile.
func TestJavaScriptRelyingParty(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: skipping the JavaScript relying-party test")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "interop", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oauth4webapi")); err != nil {
		t.Skip("interop/js/node_modules is missing (run npm ci in interop/js): skipping the JavaScript relying-party test")
	}
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "xena@example.com")
	cmd := exec.Command(node, "rp.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ISSUER="+c.Issuer, "CLIENT_ID="+c.ClientID, "CLIENT_SECRET="+c.ClientSecret,
		"REDIRECT_URI=https://app.example/callback", "EMAIL=xena@example.com", "PASSWORD=correct horse battery staple")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oauth4webapi relying party failed: %v\n%s", err, out)
	}
	var r struct {
		Sub, Email, Nonce, RefreshAfterRevoke, Iss string
		SidMatches, ActiveBefore, ActiveAfter      bool
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	if r.Sub != u.Sub || r.Email != "xena@example.com" || r.Nonce == "" || !r.SidMatches || !r.ActiveBefore || r.ActiveAfter ||
		r.RefreshAfterRevoke != "invalid_grant" || r.Iss != c.Issuer {
		t.Fatalf("relying party saw %+v", r)
	}
}
