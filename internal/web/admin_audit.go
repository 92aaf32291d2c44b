package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/idgate/idgate/internal/audit"
	"github.com/idgate/idgate/internal/idgate"
)

// eventFilter reads the event query parameters shared by the list and the
// export: user, type, since, until (RFC 3339), after (seq), limit.
func eventFilter(r *http.Request) (idgate.EventFilter, error) {
	q := r.URL.Query()
	f := idgate.EventFilter{ProjectID: r.PathValue("projectId"), UserSub: q.Get("user"), Type: q.Get("type"), Limit: 100}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, idgate.InvalidRequest(name, "must be an RFC 3339 time such as 2026-01-31T00:00:00Z")
			}
			*dst = t
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, idgate.InvalidRequest("after", "must be a non-negative event sequence number")
		}
		f.AfterSeq = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, idgate.InvalidRequest("limit", "must be a number from 1 to 1000")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) projectExists(r *http.Request) error {
	if _, err := s.d.Store.GetProject(r.Context(), r.PathValue("projectId")); err != nil {
		if errors.Is(err, idgate.ErrNotFound) {
			return idgate.NotFoundError("no project " + r.PathValue("projectId"))
		}
		return err
	}
	return nil
}

func (s *Server) adminListEvents(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	if err := s.projectExists(r); err != nil {
		return err
	}
	f, err := eventFilter(r)
	if err != nil {
		return err
	}
	evs, err := s.d.Store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]audit.Record, 0, len(evs))
	for _, e := range evs {
		out = append(out, audit.ToRecord(e))
	}
	var next int64
	if len(evs) == f.Limit {
		next = evs[len(evs)-1].Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next": next})
	return nil
}

func (s *Server) adminExportEvents(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	if err := s.projectExists(r); err != nil {
		return err
	}
	f, err := eventFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", audit.FormatJSONL:
		format = audit.FormatJSONL
		w.Header().Set("Content-Type", "application/jsonl")
	case audit.FormatCSV:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	default:
		return idgate.InvalidRequest("format", "must be jsonl or csv")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="events-`+f.ProjectID+`.`+format+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = audit.Export(r.Context(), s.d.Store, f, format, w)
	if err != nil {
		s.d.Logger.ErrorContext(r.Context(), "event export failed mid-stream", "err", err.Error())
	}
	return nil
}

func (s *Server) adminVerifyEvents(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	if err := s.projectExists(r); err != nil {
		return err
	}
	rep, err := audit.Verify(r.Context(), s.d.Store, r.PathValue("projectId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
