package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The session API paths (SPEC §3).
const (
	pathGetTokenFromCode    = "/v2/sessionmgt/gettokenfromcode"
	pathRefreshAccessToken  = "/v2/sessionmgt/refreshaccesstoken"
	pathVerifyAccessToken   = "/v2/sessionmgt/verifyaccesstoken"
	pathUserInfo            = "/v2/sessionmgt/userinfofromaccesstoken"
	pathRevokeAccessToken   = "/v2/sessionmgt/revokeaccesstoken"
	pathUpdateTokenValidity = "/v2/sessionmgt/updatetokenvalidity"
	pathUpdateUserAttribute = "/v2/sessionmgt/updateuserattribute"
	pathDeleteUser          = "/v2/sessionmgt/deleteuser"
)

// TokenResponse is the answer of a code exchange or a refresh.
type TokenResponse struct {
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token"`
	// RefreshToken is set by a code exchange, and by a refresh only when
	// it rotated the token (public apps); otherwise keep the one you have.
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int64  `json:"expires_in"` // seconds the access token lives
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
}

// CodeExchange is the body of gettokenfromcode.
type CodeExchange struct {
	Code         string `json:"code"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"` // web (confidential) apps
	// RedirectURI must equal the one used to get the code; required when
	// the app has several callback URLs.
	RedirectURI  string `json:"redirectUri,omitempty"`
	CodeVerifier string `json:"codeVerifier,omitempty"` // when PKCE was used
}

// GetTokenFromCode exchanges the one-time code the hosted login sent to
// the app's callback for the user's ID, access and refresh tokens. The API
// key needs session:write. A used or expired code is ErrInvalidGrant.
// Not retried: a code works once.
func (c *Client) GetTokenFromCode(ctx context.Context, in CodeExchange) (*TokenResponse, error) {
	var out TokenResponse
	if err := c.call(ctx, pathGetTokenFromCode, false, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RefreshRequest is the body of refreshaccesstoken.
type RefreshRequest struct {
	RefreshToken string `json:"refreshToken"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
}

// RefreshAccessToken gets new ID and access tokens with a refresh token
// (session:write). An expired refresh token or an ended session is
// ErrInvalidGrant: the user must sign in again.
func (c *Client) RefreshAccessToken(ctx context.Context, in RefreshRequest) (*TokenResponse, error) {
	var out TokenResponse
	if err := c.call(ctx, pathRefreshAccessToken, false, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Verification is the server's verdict on a token (verifyaccesstoken).
// Active is the one to act on: signature verified, not expired, not
// revoked.
type Verification struct {
	SignatureVerified  bool   `json:"signatureVerified"`
	AccessTokenExpired bool   `json:"accessTokenExpired"`
	Revoked            bool   `json:"revoked"`
	Active             bool   `json:"active"`
	AuthTime           int64  `json:"auth_time,omitempty"`
	Exp                int64  `json:"exp,omitempty"`
	Iat                int64  `json:"iat,omitempty"`
	Sub                string `json:"sub,omitempty"`
	Username           string `json:"username,omitempty"`
	ClientID           string `json:"client_id,omitempty"`
	Scope              string `json:"scope,omitempty"`
	TokenUse           string `json:"token_use,omitempty"`
}

// VerifyAccessToken asks the server whether a token (access or ID) is
// active (session:read). It is always answered for a well-formed request:
// the verdict is in the result, not in the error. Retried on 429 and 503.
func (c *Client) VerifyAccessToken(ctx context.Context, accessToken string) (*Verification, error) {
	var out Verification
	if err := c.call(ctx, pathVerifyAccessToken, true, map[string]string{"accessToken": accessToken}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UserInfo is the user an active access token belongs to, read fresh from
// the server: the standard claims present on the user and the RBAC lists.
// Raw holds every attribute, including those without a field here.
type UserInfo struct {
	Sub           string         `json:"sub"`
	Username      string         `json:"username"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	AuthTime      int64          `json:"auth_time"`
	Exp           int64          `json:"exp"`
	Roles         []string       `json:"roles"`
	Groups        []string       `json:"groups"`
	Actions       []string       `json:"actions"`
	Attributes    []string       `json:"attributes"`
	Raw           map[string]any `json:"-"`
}

// UnmarshalJSON fills the fields and Raw.
func (u *UserInfo) UnmarshalJSON(b []byte) error {
	type plain UserInfo
	if err := json.Unmarshal(b, (*plain)(u)); err != nil {
		return err
	}
	return json.Unmarshal(b, &u.Raw)
}

// UserInfo returns the user of an active access token (session:read); an
// inactive token is ErrInvalidToken. Retried on 429 and 503.
func (c *Client) UserInfo(ctx context.Context, accessToken string) (*UserInfo, error) {
	var out UserInfo
	if err := c.call(ctx, pathUserInfo, true, map[string]string{"accessToken": accessToken}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeScope says what RevokeAccessToken ends.
type RevokeScope string

// Revocation scopes.
const (
	// RevokeGlobal ends every session of the user in the pool: sign out
	// everywhere (the default).
	RevokeGlobal RevokeScope = "global"
	// RevokeSession ends only the token's session.
	RevokeSession RevokeScope = "session"
)

// RevokeAccessToken ends the token's session or, with RevokeGlobal (or an
// empty scope), all the user's sessions, and returns how many sessions it
// ended (session:write). Every token of an ended session stops verifying
// at once, and the revocation feed tells resource servers within a second.
func (c *Client) RevokeAccessToken(ctx context.Context, accessToken string, scope RevokeScope) (int, error) {
	in := map[string]string{"accessToken": accessToken}
	if scope != "" {
		in["scope"] = string(scope)
	}
	var out struct {
		RevokedSessions int `json:"revokedSessions"`
	}
	if err := c.call(ctx, pathRevokeAccessToken, false, in, &out); err != nil {
		return 0, err
	}
	return out.RevokedSessions, nil
}

// ValidityUnits names the unit of each validity value: "seconds",
// "minutes", "hours" or "days".
type ValidityUnits struct {
	IDToken      string `json:"idToken,omitempty"`
	AccessToken  string `json:"accessToken,omitempty"`
	RefreshToken string `json:"refreshToken,omitempty"`
}

// TokenValidity is an app's token lifetimes. In a request, nil values keep
// the current setting; the answer has all three, in the units in force.
type TokenValidity struct {
	ClientID             string        `json:"clientId"`
	IDTokenValidity      *int64        `json:"idTokenValidity,omitempty"`
	AccessTokenValidity  *int64        `json:"accessTokenValidity,omitempty"`
	RefreshTokenValidity *int64        `json:"refreshTokenValidity,omitempty"`
	Units                ValidityUnits `json:"tokenValidityUnits"`
}

// Int64 returns a pointer to v, for the optional fields of TokenValidity.
func Int64(v int64) *int64 { return &v }

// UpdateTokenValidity changes an app's token lifetimes for tokens issued
// afterwards (apps:write) and returns the validity now in force. Ranges:
// ID and access tokens 5 minutes to 1 day, refresh tokens 1 hour to 3650
// days.
func (c *Client) UpdateTokenValidity(ctx context.Context, in TokenValidity) (*TokenValidity, error) {
	var out TokenValidity
	if err := c.call(ctx, pathUpdateTokenValidity, false, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AttributeUpdate selects a user (UserPoolID and Email, or Sub) and the
// attributes to set: standard OIDC attributes by name ("given_name",
// "phone_number", "address", …) and the RBAC lists "roles", "groups",
// "action" and "attributes" (JSON arrays or comma-separated strings).
type AttributeUpdate struct {
	UserPoolID string
	Email      string
	Sub        string
	Attributes map[string]any
}

// UpdateUserAttributes sets attributes of a user atomically (users:write)
// and returns all the user's attributes now stored. Tokens issued
// afterwards carry the new values. An invalid value changes nothing and is
// ErrInvalidRequest naming it.
func (c *Client) UpdateUserAttributes(ctx context.Context, in AttributeUpdate) (map[string]any, error) {
	body := make(map[string]any, len(in.Attributes)+3)
	for k, v := range in.Attributes {
		body[k] = v
	}
	for k, v := range map[string]string{"userPoolId": in.UserPoolID, "email": in.Email, "sub": in.Sub} {
		if _, set := body[k]; set {
			return nil, fmt.Errorf("idgate: attribute %q: set it in the AttributeUpdate field, not in Attributes", k)
		}
		if v != "" {
			body[k] = v
		}
	}
	var out map[string]any
	if err := c.call(ctx, pathUpdateUserAttribute, false, body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteUserRequest is either phase of deleteuser: first UserPoolID,
// Email (or Sub) and Reason (optionally DryRun); then ConfirmationToken
// alone.
type DeleteUserRequest struct {
	UserPoolID        string `json:"userPoolId,omitempty"`
	Email             string `json:"email,omitempty"`
	Sub               string `json:"sub,omitempty"`
	Reason            string `json:"reason,omitempty"`
	DryRun            bool   `json:"dryRun,omitempty"`
	ConfirmationToken string `json:"confirmationToken,omitempty"`
}

// DeletionSummary is what a deletion would erase.
type DeletionSummary struct {
	Sub            string    `json:"sub"`
	Email          string    `json:"email"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
	ActiveSessions int       `json:"activeSessions"`
	TotalSessions  int       `json:"totalSessions"`
	Apps           []string  `json:"apps"`
}

// DeleteUserResult is the answer of either phase.
type DeleteUserResult struct {
	ConfirmationToken string           `json:"confirmationToken,omitempty"`
	ExpiresAt         *time.Time       `json:"expiresAt,omitempty"`
	Summary           *DeletionSummary `json:"summary,omitempty"`
	DryRun            bool             `json:"dryRun,omitempty"`
	Deleted           bool             `json:"deleted"`
	DeletedSub        string           `json:"sub,omitempty"`
	RevokedSessions   int              `json:"revokedSessions,omitempty"`
}

// DeleteUser runs a phase of the two-step deletion (users:delete): the
// first returns a summary and a confirmation token; sending the token back
// ends every session of the user and erases the user for good.
func (c *Client) DeleteUser(ctx context.Context, in DeleteUserRequest) (*DeleteUserResult, error) {
	var out DeleteUserResult
	if err := c.call(ctx, pathDeleteUser, false, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
