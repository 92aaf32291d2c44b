package web

import (
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idgate/idgate/internal/idgate"
)

// metrics are the server's Prometheus metrics, in a private registry.
// Labels are route patterns and status codes only: never user, session or
// client ids, so cardinality stays bounded and nothing personal leaks.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idgate_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "idgate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.duration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "go_goroutines", Help: "Goroutines that currently exist."},
			func() float64 { return float64(runtime.NumGoroutine()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "go_memstats_heap_alloc_bytes", Help: "Bytes of allocated heap objects."},
			func() float64 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				return float64(ms.HeapAlloc)
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "process_resident_memory_bytes", Help: "Resident memory size in bytes (Linux)."},
			residentBytes))
	return m
}

// residentBytes reads the process's resident set from /proc (0 elsewhere).
// The collectors package would do this too, but it pulls database/sql into
// the HTTP edge's dependencies, which internal/deptest forbids.
func residentBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

// observe records one finished request. The route is the mux pattern the
// request matched ("other" for the catch-all).
func (m *metrics) observe(r *http.Request, status int, d time.Duration) {
	route := r.Pattern
	if route == "" || route == "/" {
		route = "other"
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// metricsHandler serves /metrics to holders of the admin bearer token
// (Prometheus: `authorization: {credentials: ...}` in the scrape config).
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return s.admin(func(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
		h.ServeHTTP(w, r)
		return nil
	})
}
