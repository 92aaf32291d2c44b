package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

// keyed authenticates the x-api-key header for perm and passes the caller
// on. It is the session API's only way in.
func (s *Server) keyed(perm string, h func(w http.ResponseWriter, r *http.Request, c tenant.Caller) error) http.Handler {
	return api(func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.d.Tenants.Authenticate(r.Context(), r.Header.Get("x-api-key"), perm, s.actor(r, idgate.ActorAPIKey, ""))
		if err != nil {
			return err
		}
		return h(w, r, c)
	})
}

func (s *Server) keyActor(r *http.Request, c tenant.Caller) idgate.Actor {
	return s.actor(r, idgate.ActorAPIKey, c.Key.ID)
}

// CodeExchangeRequest is the body of gettokenfromcode.
type CodeExchangeRequest struct {
	Code         string `json:"code"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	RedirectURI  string `json:"redirectUri"`
	CodeVerifier string `json:"codeVerifier"`
}

func (s *Server) getTokenFromCode(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	var req CodeExchangeRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	resp, err := s.d.Tokens.ExchangeCode(r.Context(), token.ExchangeRequest{
		PoolID: c.Pool.ID, Code: req.Code, ClientID: req.ClientID, ClientSecret: req.ClientSecret,
		RedirectURI: req.RedirectURI, CodeVerifier: req.CodeVerifier, Actor: s.keyActor(r, c),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// RefreshRequest is the body of refreshaccesstoken.
type RefreshRequest struct {
	RefreshToken string `json:"refreshToken"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

func (s *Server) refreshAccessToken(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	var req RefreshRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	resp, err := s.d.Tokens.Refresh(r.Context(), token.RefreshRequest{
		PoolID: c.Pool.ID, RefreshToken: req.RefreshToken, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Actor: s.keyActor(r, c),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// TokenRequest is the body of the endpoints that take an access token.
type TokenRequest struct {
	AccessToken string `json:"accessToken"`
	Scope       string `json:"scope,omitempty"`
}

// VerifyResponse is the verdict of verifyaccesstoken. It is always 200 for
// a well-formed request; the booleans carry the verdict.
type VerifyResponse struct {
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

func (s *Server) decodeToken(w http.ResponseWriter, r *http.Request, allowScope bool) (TokenRequest, error) {
	var req TokenRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return req, err
	}
	req.AccessToken = strings.TrimSpace(req.AccessToken)
	if req.AccessToken == "" {
		return req, idgate.InvalidRequest("accessToken", "is required")
	}
	if !allowScope && req.Scope != "" {
		return req, idgate.InvalidRequest("scope", "is not a field of this request")
	}
	return req, nil
}

func (s *Server) verifyAccessToken(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	req, err := s.decodeToken(w, r, false)
	if err != nil {
		return err
	}
	v, err := s.d.Tokens.Verify(r.Context(), c.Pool.ID, req.AccessToken)
	if err != nil {
		return err
	}
	out := VerifyResponse{SignatureVerified: v.SignatureVerified, AccessTokenExpired: v.Expired, Revoked: v.Revoked, Active: v.Active}
	if v.SignatureVerified {
		cl := v.Claims
		out.Sub, out.Username, out.Scope, out.TokenUse, out.ClientID = cl.Subject, cl.Username, cl.Scope, cl.TokenUse, cl.ClientID
		if out.ClientID == "" && len(cl.Audience) > 0 {
			out.ClientID = cl.Audience[0]
		}
		if out.Username == "" {
			out.Username, _ = v.Raw["username"].(string)
		}
		out.Exp = cl.Expiry.Time().Unix()
		if cl.IssuedAt != nil {
			out.Iat = cl.IssuedAt.Time().Unix()
		}
		if cl.AuthTime != nil {
			out.AuthTime = cl.AuthTime.Time().Unix()
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) userInfoFromAccessToken(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	req, err := s.decodeToken(w, r, false)
	if err != nil {
		return err
	}
	info, err := s.d.Tokens.UserInfo(r.Context(), c.Pool.ID, req.AccessToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) revokeAccessToken(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	req, err := s.decodeToken(w, r, true)
	if err != nil {
		return err
	}
	n, err := s.d.Tokens.Revoke(r.Context(), token.RevokeRequest{PoolID: c.Pool.ID, Token: req.AccessToken, Scope: req.Scope, Actor: s.keyActor(r, c)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revokedSessions": n})
	return nil
}

func (s *Server) updateTokenValidity(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	var req tenant.ValidityUpdate
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	view, err := s.d.Tenants.UpdateTokenValidity(r.Context(), c.Key.ProjectID, req, s.keyActor(r, c))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) updateUserAttribute(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	var body map[string]json.RawMessage
	if err := decodeJSON(w, r, &body, false); err != nil {
		return err
	}
	str := func(name string) (string, error) {
		raw, ok := body[name]
		if !ok {
			return "", nil
		}
		delete(body, name)
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", idgate.InvalidRequest(name, "must be a string")
		}
		return strings.TrimSpace(v), nil
	}
	var in account.AttributeUpdate
	var err error
	if in.PoolID, err = str("userPoolId"); err != nil {
		return err
	}
	if in.Sub, err = str("sub"); err != nil {
		return err
	}
	if in.Email, err = str("email"); err != nil {
		return err
	}
	if in.Email == "" && in.Sub == "" {
		return idgate.InvalidRequest("email", "is required")
	}
	in.Values = body
	u, err := s.d.Accounts.UpdateAttributes(r.Context(), c.Key.ProjectID, in, s.keyActor(r, c))
	if err != nil {
		return err
	}
	out := token.UserClaims(u)
	out["sub"] = u.Sub
	out["userPoolId"] = u.PoolID
	out["status"] = u.Status
	writeJSON(w, http.StatusOK, out)
	return nil
}

// DeleteUserRequest is the body of deleteuser, either phase.
type DeleteUserRequest struct {
	Email             string `json:"email"`
	Sub               string `json:"sub"`
	UserPoolID        string `json:"userPoolId"`
	Reason            string `json:"reason"`
	DryRun            bool   `json:"dryRun"`
	ConfirmationToken string `json:"confirmationToken"`
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
	var req DeleteUserRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	res, err := s.d.Accounts.DeleteUser(r.Context(), c.Key.ProjectID, account.DeleteRequest{
		PoolID: req.UserPoolID, Email: req.Email, Sub: req.Sub, Reason: req.Reason, DryRun: req.DryRun,
		ConfirmationToken: strings.TrimSpace(req.ConfirmationToken),
	}, s.keyActor(r, c))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.ConfirmationToken != "" {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
	return nil
}
