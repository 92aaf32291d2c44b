// Package e2e holds end-to-end tests that run the real `idgate` binary as
// separate processes: crash safety (SIGKILL under load, then restart),
// PostgreSQL outages, and several nodes sharing one PostgreSQL database.
// The binary is built once per test run; the tests skip with a message when
// it cannot be built. PostgreSQL tests need IDGATE_TEST_POSTGRES_DSN; the
// test that stops the PostgreSQL server also needs IDGATE_TEST_PG_RESTART=1.
package e2e
