// Package tenant holds the administrator's use-cases about tenants:
// creating projects (with their pool, first app, API key and signing key in
// one go), registering apps, issuing and revoking API keys, authenticating
// API keys, rotating signing keys and tuning token validity.
package tenant
