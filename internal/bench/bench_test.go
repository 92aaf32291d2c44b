package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHistogramPercentiles records a known distribution and checks every
// reported percentile is at or above the true value and within the
// histogram's precision (1/64) of it.
func TestHistogramPercentiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	if h.Count() != 10000 || h.Max() != 10*time.Millisecond {
		t.Fatalf("count %d max %s", h.Count(), h.Max())
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := time.Duration(q*10000) * time.Microsecond
		got := h.Percentile(q)
		if got < want || float64(got-want) > float64(want)/64+1 {
			t.Errorf("p%g = %s, want %s within 1/64 above", q*100, got, want)
		}
	}
	if m := h.Mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean %s, want 5.0005ms", m)
	}
}

// TestHistogramBuckets checks the bucket arithmetic at its edges: every
// value falls in a bucket whose upper bound is at or above it, and within
// the bucket below's bound.
func TestHistogramBuckets(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<40 + 12345, 1<<62 - 1} {
		i := bucketOf(v)
		if i < 0 || i >= nBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		if up := bucketUpper(i); up < v {
			t.Errorf("value %d in bucket %d with upper bound %d", v, i, up)
		}
		if i > 0 && bucketUpper(i-1) >= v {
			t.Errorf("value %d in bucket %d, but bucket %d already reaches %d", v, i, i-1, bucketUpper(i-1))
		}
	}
}

// TestHistogramMerge merges per-worker histograms into one.
func TestHistogramMerge(t *testing.T) {
	var a, b, empty Histogram
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(2 * time.Millisecond)
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != 3 || a.Max() != 3*time.Millisecond || a.min != time.Millisecond {
		t.Fatalf("merged: count %d min %s max %s", a.Count(), a.min, a.Max())
	}
	if p := a.Percentile(0.5); p < 2*time.Millisecond || p > 2*time.Millisecond+2*time.Millisecond/64 {
		t.Fatalf("median of 1, 2, 3 ms = %s", p)
	}
}

// TestRunCountsRequestsAndErrors drives two loads side by side and checks
// each result's bookkeeping: every worker ran, failures are counted by
// message and never recorded as latencies.
func TestRunCountsRequestsAndErrors(t *testing.T) {
	var calls atomic.Int64
	seen := make([]atomic.Bool, 4)
	ok := Load{Name: "ok", Concurrency: 4, Op: func(ctx context.Context, w int) error {
		seen[w].Store(true)
		calls.Add(1)
		time.Sleep(time.Millisecond)
		return nil
	}}
	var n atomic.Int64
	flaky := Load{Name: "flaky", Concurrency: 2, Op: func(ctx context.Context, w int) error {
		time.Sleep(time.Millisecond)
		if n.Add(1)%2 == 0 {
			return errors.New("boom")
		}
		return nil
	}}
	var progress bytes.Buffer
	res := Run(context.Background(), Options{Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
		Progress: &progress, Interval: 100 * time.Millisecond}, ok, flaky)
	if len(res) != 2 || res[0].Operation != "ok" || res[1].Operation != "flaky" {
		t.Fatalf("results %+v", res)
	}
	for w := range seen {
		if !seen[w].Load() {
			t.Errorf("worker %d never ran", w)
		}
	}
	if res[0].Requests == 0 || res[0].Errors != 0 || res[0].Concurrency != 4 || res[0].RPS <= 0 {
		t.Errorf("ok load: %+v", res[0])
	}
	if uint64(calls.Load()) < res[0].Requests {
		t.Errorf("%d requests counted from %d calls", res[0].Requests, calls.Load())
	}
	if res[1].Errors == 0 || res[1].ErrorKinds["boom"] != int(res[1].Errors) {
		t.Errorf("flaky load: errors %d, kinds %v", res[1].Errors, res[1].ErrorKinds)
	}
	if res[0].P50 <= 0 || res[0].P50 > res[0].P90 || res[0].P90 > res[0].P99 || res[0].P99 > res[0].Max {
		t.Errorf("percentiles out of order: %+v", res[0])
	}
	if !strings.Contains(progress.String(), "ok ") || !strings.Contains(progress.String(), "flaky ") {
		t.Errorf("progress output %q does not name the loads", progress.String())
	}
}

// TestRunStopsWithContext ends a run early when its context ends.
func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	res := Run(ctx, Options{Duration: time.Hour}, Load{Name: "x", Concurrency: 2, Op: func(ctx context.Context, _ int) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	}})
	if time.Since(start) > time.Minute {
		t.Fatal("Run did not stop with its context")
	}
	if res[0].Errors != 0 {
		t.Errorf("cancellation counted as %d errors", res[0].Errors)
	}
}

// TestReportOutputs checks the table has the SPEC's columns and the JSON
// the documented field names.
func TestReportOutputs(t *testing.T) {
	r := Report{URL: "http://x", Label: "sqlite ES256", Results: []Result{{Operation: "verify", Concurrency: 64,
		Requests: 100, Errors: 2, RPS: 1234.4, P50: 1.5, P90: 3, P99: 12.25, ErrorKinds: map[string]int{"status 503": 2}}}}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"operation", "concurrency", "requests/s", "p50", "p90", "p99", "errors",
		"verify", "1234", "1.50ms", "12.2ms", "2× status 503"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Label   string           `json:"label"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	got := back.Results[0]
	if back.Label != "sqlite ES256" || got["operation"] != "verify" || got["requestsPerSecond"] != 1234.4 ||
		got["p99Ms"] != 12.25 || got["errors"] != 2.0 || got["concurrency"] != 64.0 {
		t.Errorf("JSON report: %s", js.String())
	}
}
