// Package notify delivers idgate's outbound email: the embedded templates
// (plain text and HTML for every message), the SMTP mailer used in
// production, the in-memory Outbox used in development and for sandbox
// projects, and the Router that chooses between them for each message.
//
// Everything here sends through the one Mailer interface, so the use-case
// packages render a Message with Templates.Render, set its recipient and
// project, and hand it to a Mailer without knowing where it ends up. The
// Router is what keeps SPEC §3.2's promise that email from a sandbox project
// is captured and never sent.
//
// The package imports only the standard library, the domain package and
// go-mail; cmd/idgate wires the concrete mailers together.
package notify
