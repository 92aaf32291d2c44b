package web

import (
	"net/http"
	"strconv"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
)

func (s *Server) adminCreateWebhook(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in tenant.NewWebhook
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	v, err := s.d.Webhooks.CreateWebhook(r.Context(), r.PathValue("projectId"), in, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) adminListWebhooks(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	if err := s.projectExists(r); err != nil {
		return err
	}
	list, err := s.d.Webhooks.ListWebhooks(r.Context(), r.PathValue("projectId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
	return nil
}

func (s *Server) adminDisableWebhook(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	if err := s.d.Webhooks.DisableWebhook(r.Context(), r.PathValue("webhookId"), a); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminWebhookDeliveries(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return idgate.InvalidRequest("limit", "must be a number from 1 to 1000")
		}
		limit = n
	}
	list, err := s.d.Webhooks.Deliveries(r.Context(), r.PathValue("webhookId"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}

func (s *Server) adminRedeliver(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	if err := s.d.Webhooks.Redeliver(r.Context(), r.PathValue("deliveryId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
