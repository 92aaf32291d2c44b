package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/audit"
	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/tenant"
)

// Console pages that watch: the conDashboard, the audit log, webhooks and the
// development outbox.

// conChartBar is one bar of a conDashboard conChart, in SVG user units.
type conChartBar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

// conChartLabel is an x-axis label.
type conChartLabel struct {
	X    int
	Text string
}

// conChartLine is a horizontal grid line with its value.
type conChartLine struct {
	Y    int
	Text string
}

// conChart is a server-rendered SVG bar conChart of sign-ins and failures.
type conChart struct {
	ID, Title      string
	Width, Height  int
	Base           int // y of the x axis
	Bars           []conChartBar
	Labels         []conChartLabel
	Max            int
	OK, Failed     int
	Summary        string // the conChart as text, for screen readers
	Grid           []conChartLine
	LabelY, GridX2 int
}

var conLoginTypes = []string{idgate.EventLoginSucceeded, idgate.EventLoginFailed}

// conBuildChart counts sign-ins and failures in n buckets of width from since.
func (s *Server) conBuildChart(r *http.Request, id, title string, since time.Time, width time.Duration, n int, label func(time.Time) string) (conChart, error) {
	counts, err := s.d.Store.CountEvents(r.Context(), "", conLoginTypes, since, width, n)
	if err != nil {
		return conChart{}, err
	}
	ok, failed := make([]int, n), make([]int, n)
	for _, c := range counts {
		if c.Bucket < 0 || c.Bucket >= n {
			continue
		}
		if c.Type == idgate.EventLoginSucceeded {
			ok[c.Bucket] += c.Count
		} else {
			failed[c.Bucket] += c.Count
		}
	}
	ch := conChart{ID: id, Title: title, Width: 720, Height: 200, Base: 170, Max: 1, LabelY: 188, GridX2: 712}
	for i := range n {
		ch.Max = max(ch.Max, ok[i], failed[i])
		ch.OK += ok[i]
		ch.Failed += failed[i]
	}
	const left, plot = 40, 672
	step := plot / n
	bw := max(step*2/5, 2)
	scale := func(v int) int { return v * 150 / ch.Max }
	for i := range n {
		x := left + i*step
		at := since.Add(time.Duration(i) * width)
		ch.Bars = append(ch.Bars,
			conChartBar{X: x + step/10, Y: ch.Base - scale(ok[i]), W: bw, H: scale(ok[i]), Class: "ok",
				Title: fmt.Sprintf("%s: %d sign-ins", label(at), ok[i])},
			conChartBar{X: x + step/10 + bw, Y: ch.Base - scale(failed[i]), W: bw, H: scale(failed[i]), Class: "fail",
				Title: fmt.Sprintf("%s: %d failures", label(at), failed[i])})
		if n <= 7 || i%4 == 0 {
			ch.Labels = append(ch.Labels, conChartLabel{X: x + step/2, Text: label(at)})
		}
	}
	ch.Grid = []conChartLine{{Y: ch.Base - 150, Text: strconv.Itoa(ch.Max)}}
	if ch.Max%2 == 0 {
		ch.Grid = append(ch.Grid, conChartLine{Y: ch.Base - 75, Text: strconv.Itoa(ch.Max / 2)})
	}
	ch.Summary = fmt.Sprintf("%d successful sign-ins and %d failed sign-ins %s.", ch.OK, ch.Failed, title)
	return ch, nil
}

// conDashboard is the console's home page.
type conDashboard struct {
	Charts         []conChart
	ActiveSessions int
	Alerts         []conAlertRow
	Projects       int
}

// conAlertRow is a recent security alert.
type conAlertRow struct {
	Event   idgate.Event
	Project string
}

func (s *Server) consoleDashboard(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	ctx := r.Context()
	now := s.d.Now().UTC()
	hourStart := now.Truncate(time.Hour)
	day, err := s.conBuildChart(r, "chart-24h", "over the last 24 hours", hourStart.Add(-23*time.Hour), time.Hour, 24,
		func(t time.Time) string { return t.Format("15:04") })
	if err != nil {
		return err
	}
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	week, err := s.conBuildChart(r, "chart-7d", "over the last 7 days", dayStart.AddDate(0, 0, -6), 24*time.Hour, 7,
		func(t time.Time) string { return t.Format("Mon 2") })
	if err != nil {
		return err
	}
	active, err := s.d.Store.CountActiveSessions(ctx, "", now)
	if err != nil {
		return err
	}
	alerts, err := s.d.Store.RecentEvents(ctx, idgate.RecentEventFilter{Types: []string{idgate.EventLockout, idgate.EventRefreshReuse},
		Since: now.Add(-7 * 24 * time.Hour), Limit: 20})
	if err != nil {
		return err
	}
	projects, err := s.d.Store.ListProjects(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, p := range projects {
		names[p.ID] = p.Name
	}
	v := conDashboard{Charts: []conChart{day, week}, ActiveSessions: active, Projects: len(projects)}
	for _, e := range alerts {
		v.Alerts = append(v.Alerts, conAlertRow{Event: e, Project: names[e.ProjectID]})
	}
	s.consoleRender(w, r, http.StatusOK, "dashboard", consoleView{Title: "Dashboard", Nav: "dashboard", Data: v}, c)
	return nil
}

// conAuditPage is a project's event log with its filters and chain status.
type conAuditPage struct {
	Project                idgate.Project
	User, Type             string
	Since, Until           string
	Events                 []audit.Record
	Next                   int64
	Report                 audit.Report
	ExportJSONL, ExportCSV string
	Types                  []string
}

// conParseTime reads an RFC 3339 time or a datetime-local value (UTC).
func conParseTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, idgate.InvalidRequest(field, "must be a date and time such as 2026-01-31T09:00 (UTC)")
}

// consoleEventFilter reads the audit page's filters.
func consoleEventFilter(r *http.Request) (idgate.RecentEventFilter, error) {
	q := r.URL.Query()
	f := idgate.RecentEventFilter{ProjectID: r.PathValue("projectId"), UserSub: strings.TrimSpace(q.Get("user")), Limit: 100}
	if t := strings.TrimSpace(q.Get("type")); t != "" {
		f.Types = []string{t}
	}
	var err error
	if f.Since, err = conParseTime("since", q.Get("since")); err != nil {
		return f, err
	}
	if f.Until, err = conParseTime("until", q.Get("until")); err != nil {
		return f, err
	}
	if b := q.Get("before"); b != "" {
		if f.BeforeSeq, err = strconv.ParseInt(b, 10, 64); err != nil || f.BeforeSeq < 0 {
			return f, idgate.InvalidRequest("before", "must be an event sequence number")
		}
	}
	return f, nil
}

func (s *Server) consoleAudit(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	p, _, err := s.conLoadProject(r, r.PathValue("projectId"))
	if err != nil {
		return err
	}
	f, err := consoleEventFilter(r)
	if err != nil {
		return err
	}
	evs, err := s.d.Store.RecentEvents(r.Context(), f)
	if err != nil {
		return err
	}
	rep, err := audit.Verify(r.Context(), s.d.Store, p.ID)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := conAuditPage{Project: p, User: q.Get("user"), Type: q.Get("type"), Since: q.Get("since"), Until: q.Get("until"), Report: rep,
		Types: append(append([]string{}, conLoginTypes...), idgate.EventLockout, idgate.EventRefreshReuse, idgate.EventSessionRevoked,
			idgate.EventGlobalSignOut, idgate.EventDeletionRequested, idgate.EventUserDeleted, idgate.EventUserDisabled,
			idgate.EventAttributesUpdated, idgate.EventTokenIssued, idgate.EventAPIKeyCreated, idgate.EventAPIKeyRevoked)}
	for _, e := range evs {
		v.Events = append(v.Events, audit.ToRecord(e))
	}
	if len(evs) == f.Limit {
		v.Next = evs[len(evs)-1].Seq
	}
	exp := url.Values{}
	for _, k := range []string{"user", "type", "since", "until"} {
		if val := q.Get(k); val != "" {
			exp.Set(k, val)
		}
	}
	base := "/admin/projects/" + p.ID + "/audit/export?"
	exp.Set("format", audit.FormatJSONL)
	v.ExportJSONL = base + exp.Encode()
	exp.Set("format", audit.FormatCSV)
	v.ExportCSV = base + exp.Encode()
	s.consoleRender(w, r, http.StatusOK, "audit", consoleView{Title: "Audit log of " + p.Name, Nav: "projects", Data: v}, c)
	return nil
}

// consoleAuditExport downloads the filtered events as JSON Lines or CSV.
func (s *Server) consoleAuditExport(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	if _, _, err := s.conLoadProject(r, r.PathValue("projectId")); err != nil {
		return err
	}
	rf, err := consoleEventFilter(r)
	if err != nil {
		return err
	}
	f := idgate.EventFilter{ProjectID: rf.ProjectID, UserSub: rf.UserSub, Since: rf.Since, Until: rf.Until}
	if len(rf.Types) > 0 {
		f.Type = rf.Types[0]
	}
	format := r.URL.Query().Get("format")
	switch format {
	case audit.FormatCSV:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case "", audit.FormatJSONL:
		format = audit.FormatJSONL
		w.Header().Set("Content-Type", "application/jsonl")
	default:
		return idgate.InvalidRequest("format", "must be jsonl or csv")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="events-`+f.ProjectID+`.`+format+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := audit.Export(r.Context(), s.d.Store, f, format, w); err != nil {
		s.d.Logger.ErrorContext(r.Context(), "console event export failed mid-stream", "err", err.Error())
	}
	return nil
}

// conWebhooksPage lists a project's endpoints.
type conWebhooksView struct {
	Project  idgate.Project
	Webhooks []tenant.WebhookView
	URL      string
	Types    string
}

func (s *Server) consoleWebhooks(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	return s.conWebhooksPage(w, r, c, http.StatusOK, "")
}

func (s *Server) conWebhooksPage(w http.ResponseWriter, r *http.Request, c *console.Current, status int, msg string) error {
	p, _, err := s.conLoadProject(r, r.PathValue("projectId"))
	if err != nil {
		return err
	}
	list, err := s.d.Webhooks.ListWebhooks(r.Context(), p.ID)
	if err != nil {
		return err
	}
	v := conWebhooksView{Project: p, Webhooks: list}
	if r.Method == http.MethodPost {
		v.URL, v.Types = r.PostForm.Get("url"), r.PostForm.Get("eventTypes")
	}
	s.consoleRender(w, r, status, "webhooks", consoleView{Title: "Webhooks of " + p.Name, Nav: "projects", Error: msg, Notice: consoleNotice(r), Data: v}, c)
	return nil
}

func (s *Server) consoleCreateWebhook(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	id := r.PathValue("projectId")
	var types []string
	for _, t := range strings.Split(r.PostForm.Get("eventTypes"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	v, err := s.d.Webhooks.CreateWebhook(r.Context(), id, tenant.NewWebhook{URL: strings.TrimSpace(r.PostForm.Get("url")), EventTypes: types,
		Description: r.PostForm.Get("description")}, c.Actor(s.consoleMeta(r)))
	if err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conWebhooksPage(w, r, c, http.StatusBadRequest, msg)
		}
		return err
	}
	return s.conShownOnce(w, r, c, "Webhook created", "Deliveries are signed with this secret (Standard Webhooks). Save it now: it is shown only once.",
		[]conOnceItem{{"webhookId", "Webhook id", v.ID}, {"webhookSecret", "Signing secret", v.Secret}}, "/admin/projects/"+id+"/webhooks", "Back to webhooks")
}

func (s *Server) consoleDisableWebhook(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	wh, err := s.d.Store.GetWebhook(r.Context(), r.PathValue("webhookId"))
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("There is no such webhook.")
	}
	if err != nil {
		return err
	}
	if err := s.d.Webhooks.DisableWebhook(r.Context(), wh.ID, c.Actor(s.consoleMeta(r))); err != nil {
		return err
	}
	return consoleDone(w, r, "/admin/projects/"+wh.ProjectID+"/webhooks", "webhookoff")
}

// conWebhookPage is an endpoint's delivery log.
type conWebhookPage struct {
	Webhook    idgate.WebhookEndpoint
	Deliveries []tenant.DeliveryView
}

func (s *Server) consoleWebhook(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	wh, err := s.d.Store.GetWebhook(r.Context(), r.PathValue("webhookId"))
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("There is no such webhook.")
	}
	if err != nil {
		return err
	}
	ds, err := s.d.Webhooks.Deliveries(r.Context(), wh.ID, 100)
	if err != nil {
		return err
	}
	wh.Secret = nil
	s.consoleRender(w, r, http.StatusOK, "webhook", consoleView{Title: "Deliveries to " + wh.URL, Nav: "projects", Notice: consoleNotice(r),
		Data: conWebhookPage{Webhook: wh, Deliveries: ds}}, c)
	return nil
}

func (s *Server) consoleRetryDelivery(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	if err := s.d.Webhooks.Redeliver(r.Context(), r.PathValue("deliveryId")); err != nil {
		return err
	}
	back := r.PostForm.Get("webhookId")
	if back == "" || strings.ContainsAny(back, "/?#\\.%") {
		return consoleDone(w, r, "/admin", "retry")
	}
	return consoleDone(w, r, "/admin/webhooks/"+back, "retry")
}

// conOutboxPage is the development outbox: the emails captured instead of
// sent.
type conOutboxPage struct {
	Enabled  bool
	Messages []notify.Captured
}

func (s *Server) consoleOutbox(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	v := conOutboxPage{Enabled: s.d.Outbox != nil}
	if v.Enabled {
		v.Messages = s.d.Outbox.List()
	}
	s.consoleRender(w, r, http.StatusOK, "outbox", consoleView{Title: "Development outbox", Nav: "outbox", Data: v}, c)
	return nil
}
