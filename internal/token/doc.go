// Package token mints, verifies and revokes idgate's tokens: per-pool
// signing keys and their rotation, RFC 9068 access tokens, OpenID Connect ID
// tokens, opaque refresh tokens (stored by hash, rotated with reuse
// detection for public apps), single-use authorization codes, and the
// session-ending operations (revoke, global sign-out).
//
// Requests come in as typed structs and failures go out as *idgate.Error;
// nothing here knows about HTTP. The session API and the OIDC provider both
// call this package, so every token is minted and checked in one place.
package token
