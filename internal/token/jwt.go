package token

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idgate/idgate/internal/idgate"
)

// allowedAlgs is the allow-list handed to the JOSE parser: anything else
// (notably "none" and HMAC algorithms) is refused before any key is used.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// Token use values (the token_use claim).
const (
	UseAccess = "access"
	UseID     = "id"
)

// Claims is what a verified idgate token says. Access and ID tokens share
// it; fields a kind of token lacks stay empty.
type Claims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	ClientID string           `json:"client_id,omitempty"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	JTI      string           `json:"jti,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	SID      string           `json:"sid"`
	Scope    string           `json:"scope,omitempty"`
	Username string           `json:"username,omitempty"`
	TokenUse string           `json:"token_use"`
	Nonce    string           `json:"nonce,omitempty"`
	// GrantType is "client_credentials" on tokens an app got for itself;
	// those have no session.
	GrantType string `json:"gty,omitempty"`
}

// claimsTime converts an optional NumericDate.
func claimsTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time()
}

// sign serializes claims as a JWS compact token with the pool's current key.
func (s *Service) sign(ctx context.Context, poolID, typ string, claims any) (string, string, error) {
	sk, err := s.keys.signer(ctx, poolID)
	if err != nil {
		return "", "", err
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", sk.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: sk.alg, Key: sk.signer}, opts)
	if err != nil {
		return "", "", err
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	return raw, string(sk.alg), err
}

// halfHash computes at_hash: the left half of the hash of the access token,
// with the hash function matching the signing algorithm (OIDC Core §3.1.3.6).
func halfHash(alg, token string) string {
	var h hash.Hash
	switch alg {
	case idgate.AlgEdDSA:
		h = sha512.New()
	default:
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// errBadToken means a token is not a well-formed idgate JWT of this pool or
// its signature does not verify.
var errBadToken = errors.New("token signature does not verify")

// parse checks the token's structure and signature against the pool's keys
// and returns its claims and the raw claim set (read-only: it may be shared
// through the verified cache). It does not check expiry or revocation.
func (s *Service) parse(ctx context.Context, poolID, raw string) (Claims, map[string]any, error) {
	if len(raw) > 16<<10 {
		return Claims{}, nil, errBadToken
	}
	cacheKey := poolID + "\x00" + raw
	if e, ok := s.verified.get(cacheKey); ok {
		vk, ok, err := s.keys.verificationKey(ctx, poolID, e.kid)
		if err != nil {
			return Claims{}, nil, err
		}
		if ok && string(vk.alg) == e.alg {
			return e.claims, e.all, nil
		}
	}
	tok, err := jwt.ParseSigned(raw, allowedAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return Claims{}, nil, errBadToken
	}
	h := tok.Headers[0]
	vk, ok, err := s.keys.verificationKey(ctx, poolID, h.KeyID)
	if err != nil {
		return Claims{}, nil, err
	}
	if !ok || string(vk.alg) != h.Algorithm {
		return Claims{}, nil, errBadToken
	}
	var c Claims
	var all map[string]any
	if err := tok.Claims(vk.key, &c, &all); err != nil {
		return Claims{}, nil, errBadToken
	}
	if c.Issuer != s.Issuer(poolID) || c.Subject == "" || c.Expiry == nil {
		return Claims{}, nil, errBadToken
	}
	if c.TokenUse != UseAccess && c.TokenUse != UseID {
		return Claims{}, nil, errBadToken
	}
	s.verified.put(cacheKey, verifiedEntry{claims: c, all: all, kid: h.KeyID, alg: h.Algorithm})
	return c, all, nil
}

// userClaims returns the user's attributes as claims: the OIDC standard
// claims present on the user plus the RBAC arrays.
func userClaims(u idgate.User) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(u.Profile)
	_ = json.Unmarshal(b, &m)
	m["email"] = u.Email
	m["email_verified"] = u.EmailVerified
	m["username"] = u.Username
	m["updated_at"] = u.UpdatedAt.Unix()
	m["roles"] = nonNil(u.Roles)
	m["groups"] = nonNil(u.Groups)
	m["actions"] = nonNil(u.Actions)
	m["attributes"] = nonNil(u.Attributes)
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UserClaims is userClaims for other packages (userinfo answers).
func UserClaims(u idgate.User) map[string]any { return userClaims(u) }

type mintInput struct {
	pool     idgate.Pool
	app      idgate.App
	user     idgate.User
	session  idgate.Session
	scope    string
	nonce    string
	now      time.Time
	validity idgate.TokenValidity
}

type minted struct {
	access, id string
	expiresIn  int64
}

// mint creates the access and ID tokens of a session.
func (s *Service) mint(ctx context.Context, in mintInput) (minted, error) {
	now := in.now.Truncate(time.Second)
	accessExp := now.Add(in.validity.AccessToken)
	access := map[string]any{
		"iss": s.Issuer(in.pool.ID), "sub": in.user.Sub, "aud": in.app.ClientID,
		"client_id": in.app.ClientID, "exp": accessExp.Unix(), "iat": now.Unix(),
		"jti": idgate.NewID(""), "auth_time": in.session.AuthTime.Unix(), "sid": in.session.ID,
		"scope": in.scope, "username": in.user.Username, "token_use": UseAccess,
		"roles": nonNil(in.user.Roles), "groups": nonNil(in.user.Groups), "actions": nonNil(in.user.Actions),
	}
	at, alg, err := s.sign(ctx, in.pool.ID, "at+jwt", access)
	if err != nil {
		return minted{}, fmt.Errorf("sign access token: %w", err)
	}
	id := userClaims(in.user)
	for k, v := range map[string]any{
		"iss": s.Issuer(in.pool.ID), "sub": in.user.Sub, "aud": in.app.ClientID,
		"exp": now.Add(in.validity.IDToken).Unix(), "iat": now.Unix(), "auth_time": in.session.AuthTime.Unix(),
		"at_hash": halfHash(alg, at), "sid": in.session.ID, "amr": nonNil(in.session.AMR),
		"token_use": UseID, "jti": idgate.NewID(""),
	} {
		id[k] = v
	}
	if in.nonce != "" {
		id["nonce"] = in.nonce
	}
	it, _, err := s.sign(ctx, in.pool.ID, "JWT", id)
	if err != nil {
		return minted{}, fmt.Errorf("sign id token: %w", err)
	}
	return minted{access: at, id: it, expiresIn: int64(in.validity.AccessToken / time.Second)}, nil
}
