// Package client is the Go SDK for applications that use idgate.
//
// It covers the application side of the session API, as the documents
// describe it ("store the tokens in your database, refresh the access token
// when it is close to expiry, verify tokens before trusting them"):
//
//   - Client: a typed client for every session API endpoint
//     (POST /v2/sessionmgt/...), with typed errors that errors.Is matches
//     against ErrInvalidGrant, ErrInvalidToken, ErrUnauthorized and the
//     other sentinels, and retries with backoff for the idempotent calls
//     (verify, userinfo) when idgate answers 429 or 503.
//   - TokenStore and SQLTokenStore: the three tokens of each user of the
//     application, kept in the application's own SQLite or PostgreSQL
//     database, encrypted with AES-256-GCM under an application key.
//   - TokenSource: AccessToken(ctx, userID) returns a valid access token,
//     refreshing ahead of expiry with one refresh per user however many
//     goroutines ask at once, and ErrLoginRequired once the user must sign
//     in again.
//   - Middleware: for resource servers. It verifies access tokens locally
//     against the pool's JWKS, checks issuer, audience, expiry and the
//     scopes, roles, groups or actions a route requires, and follows the
//     pool's revocation feed so that a token of a signed-out session is
//     refused within a second, without a network call per request.
//
// The package depends on the standard library and go-jose only, so that
// importing it does not pull in the server.
package client
