package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/idgate/idgate/internal/idgate"
)

// pool loads the pool named in the path, or answers 404.
func (s *Server) pool(r *http.Request) (idgate.Pool, error) {
	p, err := s.d.Store.GetPool(r.Context(), r.PathValue("poolId"))
	if errors.Is(err, idgate.ErrNotFound) {
		return p, idgate.NotFoundError("no such user pool")
	}
	return p, err
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	pool, err := s.pool(r)
	if err != nil {
		return err
	}
	set, err := s.d.Tokens.Keys().JWKS(r.Context(), pool.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, set)
	return nil
}

// discovery is the pool's OpenID Provider metadata. It lists only what is
// implemented.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) error {
	pool, err := s.pool(r)
	if err != nil {
		return err
	}
	iss := s.d.Tokens.Issuer(pool.ID)
	// Every algorithm a published key uses: after a switch (keys rotate
	// --alg), tokens of the previous key stay verifiable.
	algs := []string{pool.SigningAlg}
	if set, err := s.d.Tokens.Keys().JWKS(r.Context(), pool.ID); err == nil {
		for _, k := range set.Keys {
			if !slices.Contains(algs, k.Algorithm) {
				algs = append(algs, k.Algorithm)
			}
		}
	}
	authMethods := []string{"client_secret_basic", "client_secret_post", "none"}
	doc := map[string]any{
		"issuer":                                        iss,
		"authorization_endpoint":                        iss + "/authorize",
		"token_endpoint":                                iss + "/token",
		"userinfo_endpoint":                             iss + "/userinfo",
		"jwks_uri":                                      iss + "/.well-known/jwks.json",
		"revocation_endpoint":                           iss + "/revoke",
		"introspection_endpoint":                        iss + "/introspect",
		"end_session_endpoint":                          iss + "/logout",
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         []string{pool.SigningAlg},
		"userinfo_signing_alg_values_supported":         []string{"none"},
		"token_endpoint_auth_methods_supported":         authMethods,
		"revocation_endpoint_auth_methods_supported":    authMethods,
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":              []string{"S256"},
		"scopes_supported":                              []string{"openid", "email", "profile", "phone", "address"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr",
			"email", "email_verified", "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
			"picture", "website", "gender", "birthdate", "zoneinfo", "locale", "phone_number", "phone_number_verified",
			"address", "updated_at", "roles", "groups", "actions", "attributes", "username"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"prompt_values_supported":                        []string{"none", "login"},
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"authorization_response_iss_parameter_supported": true,
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, doc)
	return nil
}
