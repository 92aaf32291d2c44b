package idgate

import (
	"slices"
	"time"
)

// Environment is a project's environment. Sandbox projects never send email:
// messages are captured in the outbox instead.
type Environment string

// The environments a project can have.
const (
	EnvDevelopment Environment = "development"
	EnvSandbox     Environment = "sandbox"
	EnvProduction  Environment = "production"
)

// Valid reports whether e is one of the known environments.
func (e Environment) Valid() bool {
	return e == EnvDevelopment || e == EnvSandbox || e == EnvProduction
}

// Project is a tenant. It owns exactly one user pool.
type Project struct {
	ID          string
	Name        string
	Environment Environment
	CreatedAt   time.Time
}

// MFA policies of a pool.
const (
	MFARequired = "required"
	MFAOptional = "optional"
	MFAOff      = "off"
)

// Signing algorithms a pool may use.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// Pool is the set of users of a project, with its own signing keys.
type Pool struct {
	ID                string // <region>_<9 lowercase alnum>
	ProjectID         string
	Domain            string // userPoolDomain
	MFAPolicy         string
	SigningAlg        string
	PasswordMinLength int
	HostedSessionTTL  time.Duration
	CreatedAt         time.Time
	// NewDeviceAlerts sends users a "new sign-in to your account" email
	// when they sign in from a browser not seen before.
	NewDeviceAlerts bool
}

// AppType is the kind of application a client is.
type AppType string

// App types: web apps are confidential (they have a secret); spa and native
// apps are public and must use PKCE.
const (
	AppWeb    AppType = "web"
	AppSPA    AppType = "spa"
	AppNative AppType = "native"
)

// Valid reports whether t is a known app type.
func (t AppType) Valid() bool { return t == AppWeb || t == AppSPA || t == AppNative }

// Confidential reports whether apps of this type authenticate with a secret.
func (t AppType) Confidential() bool { return t == AppWeb }

// TokenValidity is how long an app's tokens live, with the units the
// administrator chose (kept so the API can answer in the same units).
type TokenValidity struct {
	IDToken      time.Duration
	AccessToken  time.Duration
	RefreshToken time.Duration
	IDUnit       string
	AccessUnit   string
	RefreshUnit  string
}

// DefaultTokenValidity is the documents' default: ID and access tokens live
// one day, refresh tokens thirty days.
func DefaultTokenValidity() TokenValidity {
	return TokenValidity{
		IDToken: 24 * time.Hour, AccessToken: 24 * time.Hour, RefreshToken: 30 * 24 * time.Hour,
		IDUnit: "hours", AccessUnit: "hours", RefreshUnit: "days",
	}
}

// App is an application registered in a pool (an OAuth client).
type App struct {
	ClientID                           string
	PoolID                             string
	ProjectID                          string
	Name                               string
	Type                               AppType
	SecretHash                         string // empty for public apps
	CallbackURLs                       []string
	LogoutURLs                         []string
	Scopes                             []string
	Validity                           TokenValidity
	HostedSessionSurvivesGlobalSignOut bool
	BackchannelLogoutURI               string
	CreatedAt                          time.Time
	UpdatedAt                          time.Time
}

// HasCallback reports whether uri is one of the app's registered callbacks
// (exact match, as OAuth 2.0 Security BCP requires).
func (a App) HasCallback(uri string) bool { return slices.Contains(a.CallbackURLs, uri) }

// API key permissions (SPEC §3.1).
const (
	PermSessionRead  = "session:read"
	PermSessionWrite = "session:write"
	PermUsersWrite   = "users:write"
	PermAppsWrite    = "apps:write"
	PermUsersDelete  = "users:delete"
)

// AllPermissions lists every permission an API key may carry.
var AllPermissions = []string{PermSessionRead, PermSessionWrite, PermUsersWrite, PermAppsWrite, PermUsersDelete}

// DefaultKeyPermissions are given to the key created with a project: all but
// users:delete, which takes a key made on purpose for it.
var DefaultKeyPermissions = []string{PermSessionRead, PermSessionWrite, PermUsersWrite, PermAppsWrite}

// APIKey is an x-api-key credential of a project. Only its hash is stored.
type APIKey struct {
	ID          string
	ProjectID   string
	Hash        string
	Permissions []string
	CreatedAt   time.Time
	LastUsedAt  time.Time // zero when never used
	RevokedAt   time.Time // zero while active
}

// Has reports whether the key carries permission p.
func (k APIKey) Has(p string) bool { return slices.Contains(k.Permissions, p) }

// User statuses.
const (
	StatusUnconfirmed = "UNCONFIRMED"
	StatusConfirmed   = "CONFIRMED"
	StatusDisabled    = "DISABLED"
)

// Address is the OIDC address claim (OpenID Connect Core §5.1.1).
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Profile holds the OIDC standard claims of a user other than sub, email and
// email_verified, which live on User itself. The JSON names are the claims'.
type Profile struct {
	Name                string   `json:"name,omitempty"`
	GivenName           string   `json:"given_name,omitempty"`
	FamilyName          string   `json:"family_name,omitempty"`
	MiddleName          string   `json:"middle_name,omitempty"`
	Nickname            string   `json:"nickname,omitempty"`
	PreferredUsername   string   `json:"preferred_username,omitempty"`
	Picture             string   `json:"picture,omitempty"`
	Website             string   `json:"website,omitempty"`
	Gender              string   `json:"gender,omitempty"`
	Birthdate           string   `json:"birthdate,omitempty"`
	Zoneinfo            string   `json:"zoneinfo,omitempty"`
	Locale              string   `json:"locale,omitempty"`
	PhoneNumber         string   `json:"phone_number,omitempty"`
	PhoneNumberVerified bool     `json:"phone_number_verified,omitempty"`
	Address             *Address `json:"address,omitempty"`
}

// User is an end user of a pool.
type User struct {
	Sub           string // UUID
	PoolID        string
	Username      string
	Email         string // stored lower-cased
	EmailVerified bool
	PasswordHash  string // argon2id PHC string
	Status        string
	Profile       Profile
	Roles         []string
	Groups        []string
	Actions       []string
	Attributes    []string
	TOTPSecret    []byte // encrypted under the master key; nil when not enrolled
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Session end reasons.
const (
	EndLogout            = "logout"
	EndGlobalSignOut     = "global_sign_out"
	EndExpired           = "expired"
	EndAdminRevoked      = "admin_revoked"
	EndRefreshTokenReuse = "refresh_token_reuse"
	EndUserDeleted       = "user_deleted"
	EndPasswordChanged   = "password_changed"
	EndCodeReuse         = "code_reuse"
	EndUserDisabled      = "user_disabled"
)

// Session is one sign-in of one user on one device for one app client.
// Ended sessions stay in the history with when and why they ended.
type Session struct {
	ID         string // sid
	PoolID     string
	UserSub    string
	ClientID   string
	AuthTime   time.Time
	AMR        []string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end of the refresh token's life
	EndedAt    time.Time // zero while active
	EndReason  string
}

// Active reports whether the session has not ended and not expired at now.
func (s Session) Active(now time.Time) bool {
	return s.EndedAt.IsZero() && now.Before(s.ExpiresAt)
}

// RefreshToken is the stored form of an opaque refresh token: only the hash.
// A rotated token keeps the encrypted successor for the grace window so a
// retried refresh receives the same successor.
type RefreshToken struct {
	Hash            string
	SessionID       string
	ClientID        string
	PoolID          string
	UserSub         string
	Scope           string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	RotatedAt       time.Time // zero until rotated away
	SuccessorHash   string
	SuccessorSealed []byte // successor token encrypted under the master key
}

// AuthCode is a single-use authorization code (stored by hash).
type AuthCode struct {
	Hash                string
	ClientID            string
	PoolID              string
	UserSub             string
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	Scope               string
	AuthTime            time.Time
	AMR                 []string
	IP                  string
	UserAgent           string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until redeemed
	SessionID           string    // the session its redemption created
}

// Signing key states.
const (
	KeyCurrent  = "current"
	KeyPrevious = "previous"
	KeyRetired  = "retired"
)

// SigningKey is a pool's token signing key; the private key is stored
// encrypted under the master key.
type SigningKey struct {
	ID        string // kid
	PoolID    string
	Alg       string
	Private   []byte // PKCS#8 DER sealed with the master key
	Public    []byte // PKIX DER, in the clear
	Status    string
	CreatedAt time.Time
}

// Event is an append-only audit record. Hash chains each project's events:
// Hash = SHA-256(PrevHash || canonical fields), set by the store on append.
type Event struct {
	Seq       int64
	ID        string
	ProjectID string
	PoolID    string
	Type      string
	ActorType string // api_key, admin, user, system
	ActorID   string
	UserSub   string
	SessionID string
	ClientID  string
	IP        string
	UserAgent string
	Data      map[string]any
	CreatedAt time.Time
	PrevHash  string
	Hash      string
}

// DeletionRequest is the first phase of a user deletion: it holds the
// confirmation token's hash until the second call uses it.
type DeletionRequest struct {
	Hash      string
	PoolID    string
	UserSub   string
	Reason    string
	ActorType string
	ActorID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}
