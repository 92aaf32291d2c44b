// Package secret holds idgate's secrets-at-rest primitives: argon2id password
// hashing with bounded concurrency, SHA-256 digests for high-entropy tokens
// (refresh tokens, codes, API keys, client secrets), and AES-256-GCM sealing
// under the master key (signing keys, TOTP secrets, webhook secrets).
package secret
