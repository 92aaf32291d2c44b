package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/token"
)

// Service implements the tenant use-cases.
type Service struct {
	store     idgate.Store
	signing   *token.Keys
	now       func() time.Time
	publicURL string
	region    string

	touchMu sync.Mutex
	touched map[string]time.Time // API key id → last recorded use

	keyMu sync.Mutex
	keys  map[string]cachedKey // API key hash → caller, for apiKeyCacheTTL
}

// NewService returns the tenant service. region prefixes pool ids.
func NewService(store idgate.Store, keys *token.Keys, publicURL, region string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if region == "" {
		region = "local"
	}
	return &Service{store: store, signing: keys, now: now, publicURL: publicURL, region: region, touched: map[string]time.Time{}, keys: map[string]cachedKey{}}
}

// NewProject is the input of CreateProject: the documents' three mandatory
// fields (name, environment, register type) plus the callback URL.
type NewProject struct {
	Name         string   `json:"name"`
	Environment  string   `json:"environment"`
	AppType      string   `json:"appType"`
	CallbackURLs []string `json:"callbackUrls"`
	LogoutURLs   []string `json:"logoutUrls"`
	MFA          string   `json:"mfa"`
	SigningAlg   string   `json:"signingAlg"`
	// BackchannelLogoutURI receives OIDC back-channel logout tokens.
	BackchannelLogoutURI string `json:"backchannelLogoutUri,omitempty"`
}

// Credentials is everything an administrator must save after creating a
// project. ClientSecret and APIKey are shown once: only hashes are kept.
type Credentials struct {
	ProjectID      string   `json:"projectId"`
	UserPoolID     string   `json:"userPoolId"`
	UserPoolDomain string   `json:"userPoolDomain"`
	ClientID       string   `json:"clientId"`
	ClientSecret   string   `json:"clientSecret,omitempty"`
	APIKeyID       string   `json:"apiKeyId"`
	APIKey         string   `json:"apiKey"`
	Permissions    []string `json:"permissions"`
	CodeURL        string   `json:"codeURL"`
	Issuer         string   `json:"issuer"`
}

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

// CheckURLs validates callback or logout URLs: absolute, http(s) (http only
// for loopback hosts) or a private-use scheme for native apps, no fragment.
func CheckURLs(field string, urls []string, required bool) error {
	if required && len(urls) == 0 {
		return idgate.InvalidRequest(field, "at least one URL is required")
	}
	if len(urls) > 20 {
		return idgate.InvalidRequest(field, "at most 20 URLs")
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Fragment != "" || len(raw) > 2048 {
			return idgate.InvalidRequest(field, "%q is not an absolute URL without fragment", raw)
		}
		host := u.Hostname()
		switch {
		case (u.Scheme == "https" || u.Scheme == "http") && host != "":
		case u.Scheme != "http" && u.Scheme != "https" && strings.Contains(u.Scheme, "."):
			// private-use scheme (RFC 8252 §7.1), e.g. com.example.app:/callback
		default:
			return idgate.InvalidRequest(field, "%q must be an https URL (http for development) or a reverse-domain app scheme", raw)
		}
	}
	return nil
}

// CreateProject creates a project with its pool, its first app, an API key
// with the default permissions and the pool's first signing key, atomically.
func (s *Service) CreateProject(ctx context.Context, in NewProject, actor idgate.Actor) (Credentials, error) {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return Credentials{}, idgate.InvalidRequest("name", "is required")
	case len(in.Name) > 100:
		return Credentials{}, idgate.InvalidRequest("name", "must be at most 100 characters")
	}
	if in.Environment == "" {
		in.Environment = string(idgate.EnvDevelopment)
	}
	if !idgate.Environment(in.Environment).Valid() {
		return Credentials{}, idgate.InvalidRequest("environment", "must be development, sandbox or production")
	}
	if in.AppType == "" {
		in.AppType = string(idgate.AppWeb)
	}
	if !idgate.AppType(in.AppType).Valid() {
		return Credentials{}, idgate.InvalidRequest("appType", "must be web, spa or native")
	}
	if in.MFA == "" {
		in.MFA = idgate.MFARequired
	}
	if in.MFA != idgate.MFARequired && in.MFA != idgate.MFAOptional && in.MFA != idgate.MFAOff {
		return Credentials{}, idgate.InvalidRequest("mfa", "must be required, optional or off")
	}
	if in.SigningAlg == "" {
		in.SigningAlg = idgate.AlgRS256
	}
	if !token.ValidAlg(in.SigningAlg) {
		return Credentials{}, idgate.InvalidRequest("signingAlg", "must be RS256, ES256 or EdDSA")
	}
	if err := CheckURLs("callbackUrls", in.CallbackURLs, true); err != nil {
		return Credentials{}, err
	}
	if err := CheckURLs("logoutUrls", in.LogoutURLs, false); err != nil {
		return Credentials{}, err
	}
	if err := checkBackchannelURI(in.BackchannelLogoutURI); err != nil {
		return Credentials{}, err
	}
	now := s.now()
	project := idgate.Project{ID: idgate.NewID("prj_"), Name: in.Name, Environment: idgate.Environment(in.Environment), CreatedAt: now}
	slug := strings.Trim(slugRe.ReplaceAllString(strings.ToLower(in.Name), "-"), "-")
	if len(slug) > 40 {
		slug = strings.Trim(slug[:40], "-")
	}
	if slug == "" {
		slug = "pool"
	}
	pool := idgate.Pool{
		ID: idgate.NewPoolID(s.region), ProjectID: project.ID, Domain: slug + "-" + idgate.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 6),
		MFAPolicy: in.MFA, SigningAlg: in.SigningAlg, PasswordMinLength: 12, HostedSessionTTL: time.Hour, CreatedAt: now,
		NewDeviceAlerts: true,
	}
	app, clientSecret := s.newApp(pool, in.Name, idgate.AppType(in.AppType), in.CallbackURLs, in.LogoutURLs)
	app.BackchannelLogoutURI = in.BackchannelLogoutURI
	key, rawKey := newAPIKey(project.ID, idgate.DefaultKeyPermissions, now)
	sk, err := s.signing.Generate(pool.ID, pool.SigningAlg)
	if err != nil {
		return Credentials{}, err
	}
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		steps := []func() error{
			func() error { return tx.CreateProject(ctx, project) },
			func() error { return tx.CreatePool(ctx, pool) },
			func() error { return tx.CreateApp(ctx, app) },
			func() error { return tx.CreateAPIKey(ctx, key) },
			func() error { return tx.CreateSigningKey(ctx, sk) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return event(ctx, tx, pool, idgate.EventProjectCreated, actor, now, map[string]any{"client_id": app.ClientID, "api_key_id": key.ID})
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("create project: %w", err)
	}
	return Credentials{
		ProjectID: project.ID, UserPoolID: pool.ID, UserPoolDomain: pool.Domain, ClientID: app.ClientID,
		ClientSecret: clientSecret, APIKeyID: key.ID, APIKey: rawKey, Permissions: key.Permissions,
		CodeURL: s.CodeURL(app.ClientID), Issuer: s.publicURL + "/" + pool.ID,
	}, nil
}

// CodeURL is the documents' buttonCodeCallbackURL of an app.
func (s *Service) CodeURL(clientID string) string { return s.publicURL + "/v2/mfa/code/" + clientID }

func (s *Service) newApp(pool idgate.Pool, name string, typ idgate.AppType, callbacks, logouts []string) (idgate.App, string) {
	now := s.now()
	app := idgate.App{
		ClientID: idgate.NewClientID(), PoolID: pool.ID, ProjectID: pool.ProjectID, Name: name, Type: typ,
		CallbackURLs: callbacks, LogoutURLs: logouts, Scopes: []string{"openid", "email", "profile", "phone", "address"},
		Validity: idgate.DefaultTokenValidity(), CreatedAt: now, UpdatedAt: now,
	}
	if app.LogoutURLs == nil {
		app.LogoutURLs = []string{}
	}
	var clientSecret string
	if typ.Confidential() {
		clientSecret = idgate.NewSecret("igs_")
		app.SecretHash = secret.Digest(clientSecret)
	}
	return app, clientSecret
}

// NewApp is the input of CreateApp.
type NewApp struct {
	Name         string   `json:"name"`
	AppType      string   `json:"appType"`
	CallbackURLs []string `json:"callbackUrls"`
	LogoutURLs   []string `json:"logoutUrls"`
	// BackchannelLogoutURI receives OIDC back-channel logout tokens.
	BackchannelLogoutURI string `json:"backchannelLogoutUri,omitempty"`
}

// AppCredentials is a new app's id and (confidential apps) its secret,
// shown once.
type AppCredentials struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	CodeURL      string `json:"codeURL"`
}

// CreateApp registers another app in a pool.
func (s *Service) CreateApp(ctx context.Context, poolID string, in NewApp, actor idgate.Actor) (AppCredentials, error) {
	pool, err := s.store.GetPool(ctx, poolID)
	if errors.Is(err, idgate.ErrNotFound) {
		return AppCredentials{}, idgate.NotFoundError("no user pool " + poolID)
	}
	if err != nil {
		return AppCredentials{}, err
	}
	if in.AppType == "" {
		in.AppType = string(idgate.AppWeb)
	}
	if !idgate.AppType(in.AppType).Valid() {
		return AppCredentials{}, idgate.InvalidRequest("appType", "must be web, spa or native")
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 100 {
		return AppCredentials{}, idgate.InvalidRequest("name", "is required (at most 100 characters)")
	}
	if err := CheckURLs("callbackUrls", in.CallbackURLs, true); err != nil {
		return AppCredentials{}, err
	}
	if err := CheckURLs("logoutUrls", in.LogoutURLs, false); err != nil {
		return AppCredentials{}, err
	}
	if err := checkBackchannelURI(in.BackchannelLogoutURI); err != nil {
		return AppCredentials{}, err
	}
	app, sec := s.newApp(pool, strings.TrimSpace(in.Name), idgate.AppType(in.AppType), in.CallbackURLs, in.LogoutURLs)
	app.BackchannelLogoutURI = in.BackchannelLogoutURI
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateApp(ctx, app); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventAppCreated, actor, s.now(), map[string]any{"client_id": app.ClientID})
	})
	if err != nil {
		return AppCredentials{}, err
	}
	return AppCredentials{ClientID: app.ClientID, ClientSecret: sec, CodeURL: s.CodeURL(app.ClientID)}, nil
}

func event(ctx context.Context, tx idgate.Store, pool idgate.Pool, typ string, actor idgate.Actor, now time.Time, data map[string]any) error {
	return tx.AppendEvent(ctx, &idgate.Event{
		ProjectID: pool.ProjectID, PoolID: pool.ID, Type: typ, ActorType: actor.Type, ActorID: actor.ID,
		IP: actor.IP, UserAgent: actor.UserAgent, Data: data, CreatedAt: now,
	})
}

// RotateKeys rotates a pool's signing key (alg empty: keep the pool's).
func (s *Service) RotateKeys(ctx context.Context, poolID, alg string, actor idgate.Actor) (idgate.SigningKey, error) {
	pool, err := s.store.GetPool(ctx, poolID)
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.SigningKey{}, idgate.NotFoundError("no user pool " + poolID)
	}
	if err != nil {
		return idgate.SigningKey{}, err
	}
	if alg != "" && !token.ValidAlg(alg) {
		return idgate.SigningKey{}, idgate.InvalidRequest("alg", "must be RS256, ES256 or EdDSA")
	}
	var sk idgate.SigningKey
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if alg != "" && alg != pool.SigningAlg {
			if _, err := tx.UpdatePool(ctx, pool.ID, func(p idgate.Pool) (idgate.Pool, error) { p.SigningAlg = alg; return p, nil }); err != nil {
				return err
			}
		}
		var err error
		if sk, err = s.signing.Rotate(ctx, tx, pool.ID, alg); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventKeysRotated, actor, s.now(), map[string]any{"kid": sk.ID, "alg": sk.Alg})
	})
	s.signing.Forget(pool.ID)
	return sk, err
}

// checkPermissions reports an unknown or missing permission.
func checkPermissions(perms []string) error {
	if len(perms) == 0 {
		return idgate.InvalidRequest("permissions", "at least one permission is required")
	}
	for _, p := range perms {
		if !slices.Contains(idgate.AllPermissions, p) {
			return idgate.InvalidRequest("permissions", "unknown permission %q (known: %s)", p, strings.Join(idgate.AllPermissions, ", "))
		}
	}
	return nil
}
