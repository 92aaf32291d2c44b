package idgate

// Event types (SPEC §6). Stable strings: webhooks and exports use them.
const (
	EventProjectCreated     = "project.created"
	EventAppCreated         = "app.created"
	EventAppUpdated         = "app.token_validity_updated"
	EventAppSettingsUpdated = "app.updated"
	EventPoolUpdated        = "pool.updated"
	EventAPIKeyCreated      = "api_key.created"
	EventAPIKeyRevoked      = "api_key.revoked"
	EventAPIKeyDenied       = "api_key.denied"
	EventKeysRotated        = "signing_keys.rotated"
	EventWebhookCreated     = "webhook.created"
	EventWebhookDisabled    = "webhook.disabled"
	EventUserCreated        = "user.created"
	EventLoginSucceeded     = "login.succeeded"
	EventLoginFailed        = "login.failed"
	EventTokenIssued        = "token.issued"
	EventTokenRefreshed     = "token.refreshed"
	EventRefreshReuse       = "token.refresh_reuse"
	EventCodeReuse          = "token.code_reuse"
	EventSessionRevoked     = "session.revoked"
	EventGlobalSignOut      = "session.global_sign_out"
	EventAttributesUpdated  = "user.attributes_updated"
	EventDeletionRequested  = "user.deletion_requested"
	EventUserDeleted        = "user.deleted"
	EventUserDisabled       = "user.disabled"
	EventUserEnabled        = "user.enabled"
)

// Actor types of events.
const (
	ActorAPIKey = "api_key"
	ActorAdmin  = "admin"
	ActorUser   = "user"
	ActorSystem = "system"
)
