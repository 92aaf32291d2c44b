package tenant

import (
	"context"
	"errors"
	"net/url"

	"github.com/idgate/idgate/internal/idgate"
)

// AppUpdate changes an app's URLs and options; nil fields stay as they are.
type AppUpdate struct {
	CallbackURLs                       *[]string `json:"callbackUrls,omitempty"`
	LogoutURLs                         *[]string `json:"logoutUrls,omitempty"`
	BackchannelLogoutURI               *string   `json:"backchannelLogoutUri,omitempty"`
	HostedSessionSurvivesGlobalSignOut *bool     `json:"hostedSessionSurvivesGlobalSignOut,omitempty"`
}

// AppView is an app as administrators see it (never the secret).
type AppView struct {
	ClientID                           string       `json:"clientId"`
	UserPoolID                         string       `json:"userPoolId"`
	Name                               string       `json:"name"`
	AppType                            string       `json:"appType"`
	CallbackURLs                       []string     `json:"callbackUrls"`
	LogoutURLs                         []string     `json:"logoutUrls"`
	BackchannelLogoutURI               string       `json:"backchannelLogoutUri"`
	HostedSessionSurvivesGlobalSignOut bool         `json:"hostedSessionSurvivesGlobalSignOut"`
	TokenValidity                      ValidityView `json:"tokenValidity"`
	CodeURL                            string       `json:"codeURL"`
}

// ViewApp presents an app.
func (s *Service) ViewApp(a idgate.App) AppView {
	return AppView{ClientID: a.ClientID, UserPoolID: a.PoolID, Name: a.Name, AppType: string(a.Type), CallbackURLs: a.CallbackURLs,
		LogoutURLs: a.LogoutURLs, BackchannelLogoutURI: a.BackchannelLogoutURI,
		HostedSessionSurvivesGlobalSignOut: a.HostedSessionSurvivesGlobalSignOut, TokenValidity: View(a), CodeURL: s.CodeURL(a.ClientID)}
}

// checkBackchannelURI validates a back-channel logout URI: absolute http(s)
// without fragment (OIDC Back-Channel Logout 1.0 §2.2).
func checkBackchannelURI(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || len(v) > 2048 {
		return idgate.InvalidRequest("backchannelLogoutUri", "must be an absolute http(s) URL without fragment")
	}
	return nil
}

// UpdateApp changes an app's URLs and options.
func (s *Service) UpdateApp(ctx context.Context, clientID string, in AppUpdate, actor idgate.Actor) (AppView, error) {
	if in.CallbackURLs != nil {
		if err := CheckURLs("callbackUrls", *in.CallbackURLs, true); err != nil {
			return AppView{}, err
		}
	}
	if in.LogoutURLs != nil {
		if err := CheckURLs("logoutUrls", *in.LogoutURLs, false); err != nil {
			return AppView{}, err
		}
	}
	if in.BackchannelLogoutURI != nil {
		if err := checkBackchannelURI(*in.BackchannelLogoutURI); err != nil {
			return AppView{}, err
		}
	}
	cur, err := s.store.GetApp(ctx, clientID)
	if errors.Is(err, idgate.ErrNotFound) {
		return AppView{}, idgate.NotFoundError("no app " + clientID)
	}
	if err != nil {
		return AppView{}, err
	}
	pool, err := s.store.GetPool(ctx, cur.PoolID)
	if err != nil {
		return AppView{}, err
	}
	var app idgate.App
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		app, err = tx.UpdateApp(ctx, clientID, func(a idgate.App) (idgate.App, error) {
			if in.CallbackURLs != nil {
				a.CallbackURLs = *in.CallbackURLs
			}
			if in.LogoutURLs != nil {
				a.LogoutURLs = *in.LogoutURLs
			}
			if in.BackchannelLogoutURI != nil {
				a.BackchannelLogoutURI = *in.BackchannelLogoutURI
			}
			if in.HostedSessionSurvivesGlobalSignOut != nil {
				a.HostedSessionSurvivesGlobalSignOut = *in.HostedSessionSurvivesGlobalSignOut
			}
			a.UpdatedAt = s.now()
			return a, nil
		})
		if err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventAppSettingsUpdated, actor, s.now(), map[string]any{"client_id": clientID})
	})
	if err != nil {
		return AppView{}, err
	}
	return s.ViewApp(app), nil
}

// GetApp returns an app's view.
func (s *Service) GetApp(ctx context.Context, clientID string) (AppView, error) {
	a, err := s.store.GetApp(ctx, clientID)
	if errors.Is(err, idgate.ErrNotFound) {
		return AppView{}, idgate.NotFoundError("no app " + clientID)
	}
	if err != nil {
		return AppView{}, err
	}
	return s.ViewApp(a), nil
}
