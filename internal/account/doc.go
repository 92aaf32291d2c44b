// Package account holds the use-cases about people: creating users,
// checking passwords at sign-in, updating attributes (OIDC standard claims
// and RBAC lists) with validation by type, and deleting users with the
// documents' safeguards (two-phase confirmation, audit, notification,
// irreversible erasure), and the use-cases behind the hosted login pages
// (Hosted: sign-up with email verification, TOTP enrolment with replay
// protection and recovery codes, password reset, hosted SSO sessions,
// known devices and per-account throttling). Every change writes its audit
// event in the same transaction.
package account
