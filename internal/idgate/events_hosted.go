package idgate

// Event types of the hosted login (SPEC §6). Stable strings: webhooks and
// exports use them. Failures carry a "reason" in their data.
const (
	EventSignUp               = "user.signed_up"
	EventEmailVerified        = "user.email_verified"
	EventEmailCodeFailed      = "user.email_code_failed"
	EventMFAEnrolled          = "mfa.enrolled"
	EventMFAFailed            = "mfa.failed"
	EventRecoveryCodeUsed     = "mfa.recovery_code_used"
	EventRecoveryCodesRenewed = "mfa.recovery_codes_renewed"
	EventPasswordResetAsked   = "password.reset_requested"
	EventPasswordReset        = "password.reset"
	EventPasswordChanged      = "password.changed"
	EventLockout              = "login.lockout"
	EventNewDevice            = "login.new_device"
	EventHostedSessionStarted = "hosted_session.started"
	EventHostedSessionEnded   = "hosted_session.ended"
)
