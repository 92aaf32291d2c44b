// Package web is idgate's HTTP edge: the session API (/v2/sessionmgt/...),
// the admin API (/admin/api/...), the hosted login pages, the per-pool
// discovery documents and JWKS, and the operational endpoints. Handlers are
// thin adapters: decode, call a use-case, encode. Browser routes and API
// routes get different defences (CSRF protection and CSP for the former,
// API-key or bearer authentication and strict JSON for the latter).
package web
