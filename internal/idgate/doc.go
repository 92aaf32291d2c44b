// Package idgate is the domain of the idgate identity server: the entities
// (projects, pools, app clients, API keys, users, sessions, refresh tokens,
// authorization codes, signing keys, events), the one Store interface every
// storage backend implements, the sentinel errors, and the generation of ids
// and secrets.
//
// It imports only the standard library, so the use-case packages (account,
// token) and the storage backends can depend on it without depending on
// each other, and so it never learns about HTTP or SQL.
package idgate
