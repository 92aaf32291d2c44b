package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

var algs = []string{idgate.AlgRS256, idgate.AlgES256, idgate.AlgEdDSA}

func codeOf(err error) string {
	var e *idgate.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestFlowPerAlgorithm runs code exchange, verification, userinfo, refresh
// and revocation for each signing algorithm, checking the tokens' headers
// and at_hash against independent computations.
func TestFlowPerAlgorithm(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newTenv(t)
			c := e.project(alg, "web")
			u := e.user(c.UserPoolID, "ada@example.com")
			kid, _, _ := e.currentKey(c.UserPoolID)

			resp := e.signIn(c, u)
			if resp.AccessToken == "" || resp.IDToken == "" || resp.RefreshToken == "" || resp.TokenType != "Bearer" || resp.ExpiresIn != 86400 {
				t.Fatalf("exchange response %+v", resp)
			}
			if len(resp.RefreshToken) < 43 || strings.Count(resp.RefreshToken, ".") != 0 {
				t.Fatalf("refresh token %q is not opaque with >= 256 bits", resp.RefreshToken)
			}
			checkTokens(t, e, u, alg, kid, resp)

			// Verify: both kinds are active.
			for _, tok := range []string{resp.AccessToken, resp.IDToken} {
				v, err := e.tokens.Verify(e.ctx, c.UserPoolID, tok)
				if err != nil || !v.SignatureVerified || !v.Active || v.Expired || v.Revoked {
					t.Fatalf("Verify = %+v, %v; want an active token", v, err)
				}
				if v.Claims.Subject != u.Sub || v.Claims.Issuer != publicURL+"/"+c.UserPoolID || v.Claims.SID == "" {
					t.Fatalf("claims %+v", v.Claims)
				}
			}

			// UserInfo reads the user fresh.
			info, err := e.tokens.UserInfo(e.ctx, c.UserPoolID, resp.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if info["sub"] != u.Sub || info["email"] != "ada@example.com" || info["name"] != "Ada Lovelace" || info["exp"] == nil || info["auth_time"] == nil {
				t.Fatalf("userinfo %v", info)
			}

			// Refresh: a confidential app keeps its refresh token.
			e.clock.Advance(time.Minute)
			r2, err := e.tokens.Refresh(e.ctx, token.RefreshRequest{PoolID: c.UserPoolID, RefreshToken: resp.RefreshToken, ClientID: c.ClientID, ClientSecret: c.ClientSecret})
			if err != nil {
				t.Fatal(err)
			}
			if r2.RefreshToken != "" {
				t.Fatalf("confidential refresh rotated the refresh token")
			}
			if r2.AccessToken == resp.AccessToken {
				t.Fatal("refresh returned the same access token")
			}
			checkTokens(t, e, u, alg, kid, r2)
			// ... and may use it again.
			if _, err := e.tokens.Refresh(e.ctx, token.RefreshRequest{PoolID: c.UserPoolID, RefreshToken: resp.RefreshToken, ClientID: c.ClientID, ClientSecret: c.ClientSecret}); err != nil {
				t.Fatalf("second refresh with the same token: %v", err)
			}
			if _, err := e.tokens.Refresh(e.ctx, token.RefreshRequest{PoolID: c.UserPoolID, RefreshToken: resp.RefreshToken, ClientID: c.ClientID, ClientSecret: "wrong"}); codeOf(err) != idgate.CodeInvalidClient {
				t.Fatalf("refresh with a wrong secret: %v, want invalid_client", err)
			}

			// Revoke (session scope) ends every token of the session.
			n, err := e.tokens.Revoke(e.ctx, token.RevokeRequest{PoolID: c.UserPoolID, Token: r2.AccessToken, Scope: token.ScopeSession, Actor: admin})
			if err != nil || n != 1 {
				t.Fatalf("Revoke = %d, %v; want 1 session", n, err)
			}
			for _, tok := range []string{resp.AccessToken, resp.IDToken, r2.AccessToken, r2.IDToken} {
				v, err := e.tokens.Verify(e.ctx, c.UserPoolID, tok)
				if err != nil || !v.SignatureVerified || !v.Revoked || v.Active {
					t.Fatalf("after revoke Verify = %+v, %v; want signature ok, revoked, inactive", v, err)
				}
			}
			if _, err := e.tokens.UserInfo(e.ctx, c.UserPoolID, r2.AccessToken); codeOf(err) != idgate.CodeInvalidToken {
				t.Fatalf("UserInfo after revoke: %v, want invalid_token", err)
			}
			if _, err := e.tokens.Refresh(e.ctx, token.RefreshRequest{PoolID: c.UserPoolID, RefreshToken: resp.RefreshToken, ClientID: c.ClientID, ClientSecret: c.ClientSecret}); codeOf(err) != idgate.CodeInvalidGrant {
				t.Fatalf("Refresh after revoke: %v, want invalid_grant", err)
			}
			// A revoked token cannot end newer sessions.
			fresh := e.signIn(c, u)
			if n, err := e.tokens.Revoke(e.ctx, token.RevokeRequest{PoolID: c.UserPoolID, Token: r2.AccessToken, Actor: admin}); err != nil || n != 0 {
				t.Fatalf("global revoke with an old token = %d, %v; want 0", n, err)
			}
			if v, _ := e.tokens.Verify(e.ctx, c.UserPoolID, fresh.AccessToken); !v.Active {
				t.Fatal("an old revoked token signed the user out of a newer session")
			}
			// Global revoke with a live token ends all the user's sessions.
			other := e.signIn(c, u)
			if n, err := e.tokens.Revoke(e.ctx, token.RevokeRequest{PoolID: c.UserPoolID, Token: fresh.IDToken, Actor: admin}); err != nil || n != 2 {
				t.Fatalf("global revoke = %d, %v; want 2", n, err)
			}
			if v, _ := e.tokens.Verify(e.ctx, c.UserPoolID, other.AccessToken); v.Active {
				t.Fatal("global sign-out left a session active")
			}
		})
	}
}

// checkTokens checks the headers and claims of an access/ID token pair.
func checkTokens(t *testing.T, e *tenv, u idgate.User, alg, kid string, resp token.Response) {
	t.Helper()
	ah, ac := parts(t, resp.AccessToken)
	ih, ic := parts(t, resp.IDToken)
	if ah["typ"] != "at+jwt" {
		t.Errorf("access token typ = %v, want at+jwt (RFC 9068)", ah["typ"])
	}
	if ah["alg"] != alg || ih["alg"] != alg {
		t.Errorf("alg headers %v / %v, want %s", ah["alg"], ih["alg"], alg)
	}
	if ah["kid"] != kid || ih["kid"] != kid {
		t.Errorf("kid headers %v / %v, want the pool's current kid %s", ah["kid"], ih["kid"], kid)
	}
	if ac["token_use"] != "access" || ic["token_use"] != "id" {
		t.Errorf("token_use %v / %v", ac["token_use"], ic["token_use"])
	}
	for _, k := range []string{"iss", "sub", "aud", "client_id", "exp", "iat", "jti", "auth_time", "sid", "scope", "username", "token_use", "roles", "groups", "actions"} {
		if _, ok := ac[k]; !ok {
			t.Errorf("access token lacks %s: %v", k, ac)
		}
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash", "sid", "amr", "token_use", "email", "roles", "groups", "actions", "attributes"} {
		if _, ok := ic[k]; !ok {
			t.Errorf("ID token lacks %s: %v", k, ic)
		}
	}
	if ic["sid"] != ac["sid"] || ic["sub"] != u.Sub {
		t.Errorf("sid/sub mismatch: %v %v", ic, ac)
	}
	if got, want := ic["at_hash"], wantAtHash(alg, resp.AccessToken); got != want {
		t.Errorf("at_hash = %v, want %s (left half of %s of the access token)", got, want, map[bool]string{true: "SHA-512", false: "SHA-256"}[alg == "EdDSA"])
	}
	// The JWKS verifies both tokens on its own (as a relying party would).
	set, err := e.keys.JWKS(e.ctx, ac["iss"].(string)[len(publicURL)+1:])
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{resp.AccessToken, resp.IDToken} {
		obj, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
		if err != nil {
			t.Fatal(err)
		}
		keys := set.Key(kid)
		if len(keys) != 1 {
			t.Fatalf("JWKS has %d keys with kid %s", len(keys), kid)
		}
		if _, err := obj.Verify(keys[0]); err != nil {
			t.Errorf("the JWKS key does not verify the token: %v", err)
		}
	}
}

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	for _, alg := range algs {
		k, err := e.keys.Generate("test_pool00001", alg)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if len(k.ID) != 16 || k.Alg != alg || k.Status != idgate.KeyCurrent || k.PoolID != "test_pool00001" {
			t.Fatalf("%s: key %+v", alg, k)
		}
		pub, err := x509.ParsePKIXPublicKey(k.Public)
		if err != nil {
			t.Fatal(err)
		}
		switch p := pub.(type) {
		case *rsa.PublicKey:
			if alg != "RS256" || p.N.BitLen() < 2048 {
				t.Fatalf("%s: RSA key of %d bits", alg, p.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if alg != "ES256" || p.Curve != elliptic.P256() {
				t.Fatalf("%s: EC key on %v", alg, p.Curve.Params().Name)
			}
		case ed25519.PublicKey:
			if alg != "EdDSA" {
				t.Fatalf("%s: Ed25519 key", alg)
			}
		default:
			t.Fatalf("%s: public key type %T", alg, pub)
		}
		// The private key is sealed, bound to its kid.
		if _, err := x509.ParsePKCS8PrivateKey(k.Private); err == nil {
			t.Fatalf("%s: private key stored in the clear", alg)
		}
		der, err := e.sealer.Open(k.Private, "signing-key:"+k.ID)
		if err != nil {
			t.Fatalf("%s: sealed private key does not open with aad signing-key:<kid>: %v", alg, err)
		}
		if _, err := e.sealer.Open(k.Private, "signing-key:other"); err == nil {
			t.Fatalf("%s: sealed private key opens under another kid", alg)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		pubDer, _ := x509.MarshalPKIXPublicKey(priv.(crypto.Signer).Public())
		if string(pubDer) != string(k.Public) {
			t.Fatalf("%s: private and public keys do not match", alg)
		}
	}
	for _, bad := range []string{"", "HS256", "none", "RS512", "rs256"} {
		if _, err := e.keys.Generate("test_pool00001", bad); err == nil {
			t.Fatalf("Generate(%q) accepted", bad)
		}
	}
}

func TestKeysRotateAndJWKS(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("RS256", "web")
	u := e.user(c.UserPoolID, "ada@example.com")
	pool := c.UserPoolID

	jwks := func() jose.JSONWebKeySet {
		t.Helper()
		set, err := e.keys.JWKS(e.ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || k.KeyID == "" || k.Use != "sig" || k.Algorithm == "" {
				t.Fatalf("JWKS entry %+v: want public key with kid, use sig, alg", k)
			}
		}
		return set
	}
	set := jwks()
	if len(set.Keys) != 1 {
		t.Fatalf("new pool JWKS has %d keys, want 1", len(set.Keys))
	}
	kid1 := set.Keys[0].KeyID
	old := e.signIn(c, u)

	k2, err := e.keys.Rotate(e.ctx, e.store, pool, "")
	if err != nil {
		t.Fatal(err)
	}
	if k2.Alg != "RS256" || k2.ID == kid1 {
		t.Fatalf("rotated key %+v", k2)
	}
	set = jwks()
	if len(set.Keys) != 2 || len(set.Key(kid1)) != 1 || len(set.Key(k2.ID)) != 1 {
		t.Fatalf("after one rotation JWKS %v, want the current and previous keys", kids(set))
	}
	// Tokens of the previous key keep verifying; new tokens use the new key.
	if v, _ := e.tokens.Verify(e.ctx, pool, old.AccessToken); !v.Active {
		t.Fatal("a token of the previous key stopped verifying after one rotation")
	}
	fresh := e.signIn(c, u)
	if h, _ := parts(t, fresh.AccessToken); h["kid"] != k2.ID {
		t.Fatalf("after rotation tokens are signed with %v, want %s", h["kid"], k2.ID)
	}

	// Rotating again retires the oldest key (and switches algorithm).
	k3, err := e.keys.Rotate(e.ctx, e.store, pool, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	set = jwks()
	if len(set.Keys) != 2 || len(set.Key(kid1)) != 0 || len(set.Key(k3.ID)) != 1 || len(set.Key(k2.ID)) != 1 {
		t.Fatalf("after two rotations JWKS %v, want %s and %s", kids(set), k3.ID, k2.ID)
	}
	if v, _ := e.tokens.Verify(e.ctx, pool, old.AccessToken); v.SignatureVerified {
		t.Fatal("a token of a retired key still verifies")
	}
	if v, _ := e.tokens.Verify(e.ctx, pool, fresh.AccessToken); !v.Active {
		t.Fatal("a token of the previous key stopped verifying")
	}
	es := e.signIn(c, u)
	if h, _ := parts(t, es.AccessToken); h["alg"] != "ES256" || h["kid"] != k3.ID {
		t.Fatalf("after switching to ES256, header %v", h)
	}
	if _, err := e.keys.Rotate(e.ctx, e.store, pool, "HS256"); err == nil {
		t.Fatal("Rotate to HS256 accepted")
	}
}

// TestKeysSeenByAnotherNode checks that a second key manager over the same
// store (another node, or the server while the CLI rotates) picks up a
// rotation: within the cache TTL for the JWKS, and for verification of a
// token signed with the new key.
func TestKeysSeenByAnotherNode(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("ES256", "web")
	u := e.user(c.UserPoolID, "ada@example.com")
	node2 := token.NewService(token.Config{Store: e.store, Keys: token.NewKeys(e.store, e.sealer, e.clock.Now), Sealer: e.sealer, Now: e.clock.Now, PublicURL: publicURL})
	if set, _ := node2.Keys().JWKS(e.ctx, c.UserPoolID); len(set.Keys) != 1 {
		t.Fatalf("node2 JWKS %d keys", len(set.Keys))
	}
	if _, err := e.tenants.RotateKeys(e.ctx, c.UserPoolID, "", admin); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Second)
	if set, _ := node2.Keys().JWKS(e.ctx, c.UserPoolID); len(set.Keys) != 2 {
		t.Fatalf("node2 JWKS has %d keys 6 s after a rotation, want 2", len(set.Keys))
	}
	if _, err := e.tenants.RotateKeys(e.ctx, c.UserPoolID, "", admin); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second) // past the unknown-kid reread limit, within the cache TTL
	resp := e.signIn(c, u)
	if v, err := node2.Verify(e.ctx, c.UserPoolID, resp.AccessToken); err != nil || !v.Active {
		t.Fatalf("node2 does not verify a token of a key it has not seen yet: %+v, %v", v, err)
	}
}

// TestAlgorithmConfusion forges tokens the ways attackers do; none may pass.
func TestAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("RS256", "web")
	other := e.project("ES256", "web")
	u := e.user(c.UserPoolID, "ada@example.com")
	resp := e.signIn(c, u)
	_, claims := parts(t, resp.AccessToken)
	kid, alg, key := e.currentKey(c.UserPoolID)
	otherKid, otherAlg, otherKey := e.currentKey(other.UserPoolID)

	with := func(k string, v any) map[string]any {
		m := maps.Clone(claims)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	// Control: our forging helper with the pool's real key makes a token
	// that verifies, so the failures below are the defences at work.
	control := sign(t, alg, key, kid, "at+jwt", claims)
	if v, err := e.tokens.Verify(e.ctx, c.UserPoolID, control); err != nil || !v.SignatureVerified || !v.Active {
		t.Fatalf("control token does not verify: %+v, %v", v, err)
	}

	rsaPub := key.Public().(*rsa.PublicKey)
	pkix, _ := x509.MarshalPKIXPublicKey(rsaPub)
	pkcs1 := x509.MarshalPKCS1PublicKey(rsaPub)
	pemPKIX := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
	set, _ := e.keys.JWKS(e.ctx, c.UserPoolID)
	jwkJSON, _ := json.Marshal(set.Keys[0])

	strangerRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	strangerEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	forged := map[string]string{
		"HS256 with PKIX DER public key as secret":  hs256(t, kid, claims, pkix),
		"HS256 with PEM public key as secret":       hs256(t, kid, claims, pemPKIX),
		"HS256 with PKCS1 DER public key as secret": hs256(t, kid, claims, pkcs1),
		"HS256 with PKCS1 PEM as secret":            hs256(t, kid, claims, pemPKCS1),
		"HS256 with JWK JSON as secret":             hs256(t, kid, claims, jwkJSON),
		"HS256 with modulus as secret":              hs256(t, kid, claims, rsaPub.N.Bytes()),
		"alg none, empty signature":                 unsigned(t, map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, claims, ""),
		"alg None":                                  unsigned(t, map[string]any{"alg": "None", "kid": kid, "typ": "at+jwt"}, claims, ""),
		"alg none with original signature":          unsigned(t, map[string]any{"alg": "none", "kid": kid}, claims, strings.Split(resp.AccessToken, ".")[2]),
		"alg none without kid":                      unsigned(t, map[string]any{"alg": "none"}, claims, ""),
		"kid of another pool, its real key":         sign(t, otherAlg, otherKey, otherKid, "at+jwt", claims),
		"other pool's real token":                   e.signIn(other, e.user(other.UserPoolID, "bob@example.com")).AccessToken,
		"same kid, different RSA key":               sign(t, jose.RS256, strangerRSA, kid, "at+jwt", claims),
		"same kid, ES256 key":                       sign(t, jose.ES256, strangerEC, kid, "at+jwt", claims),
		"no kid, real key":                          sign(t, alg, key, "", "at+jwt", claims),
		"unknown kid, real key":                     sign(t, alg, key, "nosuchkid0000000", "at+jwt", claims),
		"PS256 with the real RSA key":               sign(t, jose.PS256, key, kid, "at+jwt", claims),
		"RS512 with the real RSA key":               sign(t, jose.RS512, key, kid, "at+jwt", claims),
		"iss changed":                               sign(t, alg, key, kid, "at+jwt", with("iss", publicURL+"/"+other.UserPoolID)),
		"iss trailing slash":                        sign(t, alg, key, kid, "at+jwt", with("iss", publicURL+"/"+c.UserPoolID+"/")),
		"iss missing":                               sign(t, alg, key, kid, "at+jwt", with("iss", nil)),
		"token_use refresh":                         sign(t, alg, key, kid, "at+jwt", with("token_use", "refresh")),
		"token_use missing":                         sign(t, alg, key, kid, "at+jwt", with("token_use", nil)),
		"sub missing":                               sign(t, alg, key, kid, "at+jwt", with("sub", nil)),
		"exp missing":                               sign(t, alg, key, kid, "at+jwt", with("exp", nil)),
		"payload swapped under the real signature":  swapPayload(t, resp.AccessToken, with("sub", "someone-else")),
		"signature truncated":                       resp.AccessToken[:len(resp.AccessToken)-10],
		"signature of the ID token":                 swapSig(resp.AccessToken, resp.IDToken),
		"JWS JSON serialization":                    jsonSerialized(t, alg, key, kid, claims),
		"JWE-shaped":                                "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.BBBB.CCCC",
		"two signatures":                            resp.AccessToken + "." + strings.Split(resp.AccessToken, ".")[2],
	}
	for name, tok := range forged {
		t.Run(name, func(t *testing.T) {
			v, err := e.tokens.Verify(e.ctx, c.UserPoolID, tok)
			if err != nil {
				t.Fatalf("Verify error %v; want a verdict", err)
			}
			if v.SignatureVerified || v.Active {
				t.Fatalf("forged token accepted: %+v", v)
			}
			if _, err := e.tokens.UserInfo(e.ctx, c.UserPoolID, tok); codeOf(err) != idgate.CodeInvalidToken {
				t.Fatalf("UserInfo with a forged token: %v, want invalid_token", err)
			}
			if n, err := e.tokens.Revoke(e.ctx, token.RevokeRequest{PoolID: c.UserPoolID, Token: tok, Actor: admin}); n != 0 || codeOf(err) != idgate.CodeInvalidToken {
				t.Fatalf("Revoke with a forged token = %d, %v; want invalid_token", n, err)
			}
		})
	}
	// None of the attempts ended the real session.
	if v, _ := e.tokens.Verify(e.ctx, c.UserPoolID, resp.AccessToken); !v.Active {
		t.Fatal("the real token is no longer active")
	}
}

func hs256(t *testing.T, kid string, claims map[string]any, secret []byte) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid})
	p, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64.EncodeToString(mac.Sum(nil))
}

func unsigned(t *testing.T, header, claims map[string]any, sig string) string {
	t.Helper()
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	return b64.EncodeToString(h) + "." + b64.EncodeToString(p) + "." + sig
}

func swapPayload(t *testing.T, tok string, claims map[string]any) string {
	p, _ := json.Marshal(claims)
	s := strings.Split(tok, ".")
	return s[0] + "." + b64.EncodeToString(p) + "." + s[2]
}

func swapSig(tok, from string) string {
	s := strings.Split(tok, ".")
	return s[0] + "." + s[1] + "." + strings.Split(from, ".")[2]
}

func jsonSerialized(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(claims)
	obj, err := signer.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	return obj.FullSerialize()
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID+"/"+k.Algorithm)
	}
	return out
}

// TestVerifyExpiry checks the verdict of an expired token: signature still
// verified, expired, not active.
func TestVerifyExpiry(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("EdDSA", "web")
	resp := e.signIn(c, e.user(c.UserPoolID, "ada@example.com"))
	e.clock.Advance(24*time.Hour - time.Second)
	if v, _ := e.tokens.Verify(e.ctx, c.UserPoolID, resp.AccessToken); !v.Active {
		t.Fatalf("token inactive a second before exp: %+v", v)
	}
	e.clock.Advance(time.Second)
	v, err := e.tokens.Verify(e.ctx, c.UserPoolID, resp.AccessToken)
	if err != nil || !v.SignatureVerified || !v.Expired || v.Active || v.Revoked {
		t.Fatalf("at exp Verify = %+v, %v; want signature ok, expired, inactive", v, err)
	}
	if _, err := e.tokens.UserInfo(e.ctx, c.UserPoolID, resp.AccessToken); codeOf(err) != idgate.CodeInvalidToken {
		t.Fatalf("UserInfo with an expired token: %v", err)
	}
	if _, err := e.tokens.Revoke(e.ctx, token.RevokeRequest{PoolID: c.UserPoolID, Token: resp.AccessToken}); codeOf(err) != idgate.CodeInvalidToken {
		t.Fatalf("Revoke with an expired token: %v", err)
	}
}

// TestCodeExchangeRules covers single use, PKCE, client and redirect
// checks of ExchangeCode.
func TestCodeExchangeRules(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("RS256", "web")
	app := e.app(c.ClientID)
	u := e.user(c.UserPoolID, "ada@example.com")
	ex := func(code, secret, redirect, verifier string) (token.Response, error) {
		return e.tokens.ExchangeCode(e.ctx, token.ExchangeRequest{PoolID: c.UserPoolID, Code: code, ClientID: c.ClientID, ClientSecret: secret, RedirectURI: redirect, CodeVerifier: verifier})
	}

	// Single use: a second exchange fails and ends the first session.
	code := e.code(app, u, "", "")
	first, err := ex(code, c.ClientSecret, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex(code, c.ClientSecret, "", ""); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("second use of a code: %v, want invalid_grant", err)
	}
	if v, _ := e.tokens.Verify(e.ctx, c.UserPoolID, first.AccessToken); v.Active || !v.Revoked {
		t.Fatalf("the first use's tokens survive a code replay: %+v", v)
	}

	// Client authentication.
	if _, err := ex(e.code(app, u, "", ""), "wrong", "", ""); codeOf(err) != idgate.CodeInvalidClient {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := ex(e.code(app, u, "", ""), "", "", ""); codeOf(err) != idgate.CodeInvalidClient {
		t.Fatalf("no secret: %v", err)
	}
	// Redirect URI must match.
	if _, err := ex(e.code(app, u, "", ""), c.ClientSecret, "https://evil.example/callback", ""); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("other redirect: %v", err)
	}
	// Expiry: 5 minutes.
	old := e.code(app, u, "", "")
	e.clock.Advance(5 * time.Minute)
	if _, err := ex(old, c.ClientSecret, "", ""); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("code after 5 minutes: %v", err)
	}

	// PKCE, with the RFC 7636 Appendix B values.
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if _, err := ex(e.code(app, u, challenge, ""), c.ClientSecret, "", ""); codeOf(err) != idgate.CodeInvalidRequest {
		t.Fatalf("missing verifier: %v, want invalid_request", err)
	}
	if _, err := ex(e.code(app, u, challenge, ""), c.ClientSecret, "", verifier+"x"); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("wrong verifier: %v, want invalid_grant", err)
	}
	if _, err := ex(e.code(app, u, challenge, ""), c.ClientSecret, "", verifier); err != nil {
		t.Fatalf("right verifier: %v", err)
	}
	if _, err := ex(e.code(app, u, "", ""), c.ClientSecret, "", verifier); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("verifier without challenge: %v, want invalid_grant", err)
	}

	// A disabled user cannot redeem a code.
	code = e.code(app, u, "", "")
	if _, err := e.store.UpdateUser(e.ctx, c.UserPoolID, u.Sub, func(u idgate.User) (idgate.User, error) { u.Status = idgate.StatusDisabled; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ex(code, c.ClientSecret, "", ""); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("disabled user: %v", err)
	}
}

func TestVerifyPKCE(t *testing.T) {
	t.Parallel()
	// RFC 7636 Appendix B.
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !token.VerifyPKCE(verifier, challenge) {
		t.Fatal("RFC 7636 Appendix B vector rejected")
	}
	for _, c := range []struct{ v, ch string }{
		{verifier, challenge + "="},                               // padded
		{verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"}, // std alphabet
		{verifier, strings.ToLower(challenge)},
		{verifier + " ", challenge},
		{verifier, ""},
		{"", challenge},
		{challenge, challenge}, // plain method is not accepted
		{verifier, verifier},
	} {
		if token.VerifyPKCE(c.v, c.ch) {
			t.Errorf("VerifyPKCE(%q, %q) = true", c.v, c.ch)
		}
	}
}

// TestPublicAppRefreshRotation covers rotation, the grace window and reuse
// detection for a public app.
func TestPublicAppRefreshRotation(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("ES256", "spa")
	if c.ClientSecret != "" {
		t.Fatal("a public app got a client secret")
	}
	app := e.app(c.ClientID)
	u := e.user(c.UserPoolID, "ada@example.com")
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	resp, err := e.tokens.ExchangeCode(e.ctx, token.ExchangeRequest{PoolID: c.UserPoolID, Code: e.code(app, u, challenge, ""), ClientID: c.ClientID, CodeVerifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) (token.Response, error) {
		return e.tokens.Refresh(e.ctx, token.RefreshRequest{PoolID: c.UserPoolID, RefreshToken: rt, ClientID: c.ClientID})
	}
	r1, err := refresh(resp.RefreshToken)
	if err != nil || r1.RefreshToken == "" || r1.RefreshToken == resp.RefreshToken {
		t.Fatalf("public refresh = %+v, %v; want a new refresh token", r1, err)
	}
	// Retry inside the grace window: the same successor.
	e.clock.Advance(5 * time.Second)
	retry, err := refresh(resp.RefreshToken)
	if err != nil || retry.RefreshToken != r1.RefreshToken {
		t.Fatalf("retry within grace = %+v, %v; want the same successor", retry, err)
	}
	// Reuse after the window ends the session.
	e.clock.Advance(10 * time.Second)
	if _, err := refresh(resp.RefreshToken); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("reuse after grace: %v, want invalid_grant", err)
	}
	if v, _ := e.tokens.Verify(e.ctx, c.UserPoolID, r1.AccessToken); v.Active {
		t.Fatal("refresh token reuse did not end the session")
	}
	if _, err := refresh(r1.RefreshToken); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("successor after reuse: %v, want invalid_grant", err)
	}
}

// TestTokensEndWithTheirSession: a session has an absolute end (the
// refresh token's lifetime). When the refresh validity is shorter than the
// access validity, the access token must not outlive its session: the
// admin view already reports such a session as ended ("expired"), so its
// tokens must fail verification too (SPEC §2.3: once a session ends, every
// token of it fails verification).
func TestTokensEndWithTheirSession(t *testing.T) {
	t.Parallel()
	e := newTenv(t)
	c := e.project("ES256", "web")
	one, day := int64(1), int64(24)
	if _, err := e.tenants.UpdateTokenValidity(e.ctx, c.ProjectID, tenant.ValidityUpdate{ClientID: c.ClientID,
		RefreshTokenValidity: &one, AccessTokenValidity: &day, IDTokenValidity: &day,
		Units: tenant.ValidityUnits{RefreshToken: "hours", AccessToken: "hours", IDToken: "hours"}}, admin); err != nil {
		t.Fatal(err)
	}
	resp := e.signIn(c, e.user(c.UserPoolID, "ada@example.com"))
	e.clock.Advance(time.Hour + time.Second)
	if _, err := e.tokens.Refresh(e.ctx, token.RefreshRequest{PoolID: c.UserPoolID, RefreshToken: resp.RefreshToken, ClientID: c.ClientID, ClientSecret: c.ClientSecret}); codeOf(err) != idgate.CodeInvalidGrant {
		t.Fatalf("refresh after the session's end: %v, want invalid_grant", err)
	}
	v, err := e.tokens.Verify(e.ctx, c.UserPoolID, resp.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if v.Active {
		t.Fatalf("access token still active after its session expired (session 1 h, token 24 h): signature %v expired %v revoked %v active %v",
			v.SignatureVerified, v.Expired, v.Revoked, v.Active)
	}
}
