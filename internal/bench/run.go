// Package bench is idgate's load generator: it runs an operation from N
// concurrent workers for a fixed time, records every latency in a
// histogram, shows progress while it runs and reports throughput, latency
// percentiles and errors as a table or JSON.
//
// The package knows nothing about what an operation does; the flows against
// a running idgate (verify, refresh, hosted login, ...) are in flows.go and
// the command that wires them is `idgate bench` (cmd/idgate/bench.go).
package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Op performs one operation on behalf of worker (0 ≤ worker < concurrency).
// A non-nil error counts as an error; its latency is not recorded.
type Op func(ctx context.Context, worker int) error

// Load is one operation driven by Concurrency workers. Several loads run
// side by side in one Run (e.g. verification during a login storm).
type Load struct {
	Name        string
	Concurrency int
	Op          Op
}

// Options configure a Run.
type Options struct {
	// Duration of the measured window.
	Duration time.Duration
	// Warmup runs the workers this long before measuring (connections,
	// caches); nothing done during it is counted.
	Warmup time.Duration
	// Progress, when non-nil, receives a status line every Interval.
	Progress io.Writer
	Interval time.Duration // default 1 s
}

// Result is what one load achieved in the measured window.
type Result struct {
	Operation   string         `json:"operation"`
	Concurrency int            `json:"concurrency"`
	Requests    uint64         `json:"requests"`
	Errors      uint64         `json:"errors"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"requestsPerSecond"`
	P50         Millis         `json:"p50Ms"`
	P90         Millis         `json:"p90Ms"`
	P99         Millis         `json:"p99Ms"`
	Max         Millis         `json:"maxMs"`
	Mean        Millis         `json:"meanMs"`
	ErrorKinds  map[string]int `json:"errorKinds,omitempty"`
	hist        *Histogram
}

// Histogram returns the latencies of the successful operations.
func (r Result) Histogram() *Histogram { return r.hist }

// Millis is a duration reported in milliseconds (JSON: a number).
type Millis float64

func ms(d time.Duration) Millis { return Millis(float64(d) / float64(time.Millisecond)) }

// maxErrorKinds bounds how many distinct error messages a result keeps.
const maxErrorKinds = 8

// worker is the state of one worker goroutine, merged at the end.
type worker struct {
	hist   Histogram
	errors map[string]int
	nerr   uint64
}

// loadState is the shared state of one load while it runs.
type loadState struct {
	load    Load
	workers []*worker
	done    atomic.Uint64 // successful operations in the window, for progress
	failed  atomic.Uint64
}

// Run drives every load for opts.Warmup + opts.Duration and returns one
// Result per load, in order. It returns early (with what was measured so
// far) when ctx ends.
func Run(ctx context.Context, opts Options, loads ...Load) []Result {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	windowStart := start.Add(opts.Warmup)
	end := windowStart.Add(opts.Duration)

	states := make([]*loadState, len(loads))
	var wg sync.WaitGroup
	for i, l := range loads {
		st := &loadState{load: l, workers: make([]*worker, l.Concurrency)}
		states[i] = st
		for w := range l.Concurrency {
			wk := &worker{errors: map[string]int{}}
			st.workers[w] = wk
			wg.Add(1)
			go func() {
				defer wg.Done()
				runWorker(ctx, st, wk, w, windowStart, end)
			}()
		}
	}
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if opts.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			progress(opts, states, start, windowStart, stopProgress)
		}()
	}
	timer := time.NewTimer(time.Until(end))
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	stoppedAt := time.Now()
	cancel()
	wg.Wait()
	close(stopProgress)
	pwg.Wait()

	if stoppedAt.After(end) {
		stoppedAt = end
	}
	window := max(stoppedAt.Sub(windowStart), 0)
	out := make([]Result, len(states))
	for i, st := range states {
		out[i] = summarize(st, window)
	}
	return out
}

func runWorker(ctx context.Context, st *loadState, wk *worker, id int, windowStart, end time.Time) {
	for ctx.Err() == nil {
		t0 := time.Now()
		err := st.load.Op(ctx, id)
		t1 := time.Now()
		if t0.Before(windowStart) || t1.After(end) {
			continue // warm-up, or finished after the window closed
		}
		if err != nil {
			if ctx.Err() != nil {
				return // cancelled at the end of the run: not the server's fault
			}
			wk.nerr++
			st.failed.Add(1)
			msg := err.Error()
			if _, ok := wk.errors[msg]; ok || len(wk.errors) < maxErrorKinds {
				wk.errors[msg]++
			}
			continue
		}
		wk.hist.Record(t1.Sub(t0))
		st.done.Add(1)
	}
}

func summarize(st *loadState, window time.Duration) Result {
	h := &Histogram{}
	kinds := map[string]int{}
	var nerr uint64
	for _, wk := range st.workers {
		h.Merge(&wk.hist)
		nerr += wk.nerr
		for k, v := range wk.errors {
			if _, ok := kinds[k]; ok || len(kinds) < maxErrorKinds {
				kinds[k] += v
			}
		}
	}
	r := Result{
		Operation: st.load.Name, Concurrency: st.load.Concurrency, Requests: h.Count(), Errors: nerr,
		Seconds: window.Seconds(), P50: ms(h.Percentile(0.50)), P90: ms(h.Percentile(0.90)),
		P99: ms(h.Percentile(0.99)), Max: ms(h.Max()), Mean: ms(h.Mean()), hist: h,
	}
	if window > 0 {
		r.RPS = float64(h.Count()) / window.Seconds()
	}
	if len(kinds) > 0 {
		r.ErrorKinds = kinds
	}
	return r
}

// progress prints one line per interval: elapsed time and, per load, the
// current rate and the errors so far.
func progress(opts Options, states []*loadState, start, windowStart time.Time, stop <-chan struct{}) {
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	last := make([]uint64, len(states))
	lastAt := time.Now()
	total := opts.Warmup + opts.Duration
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			phase := "measuring"
			if now.Before(windowStart) {
				phase = "warming up"
			}
			line := fmt.Sprintf("\r%5.1fs/%.0fs %s", now.Sub(start).Seconds(), total.Seconds(), phase)
			dt := now.Sub(lastAt).Seconds()
			for i, st := range states {
				n := st.done.Load()
				line += fmt.Sprintf(" | %s %.0f/s err %d", st.load.Name, float64(n-last[i])/dt, st.failed.Load())
				last[i] = n
			}
			lastAt = now
			fmt.Fprint(opts.Progress, line+"   ")
		}
	}
}

// SortErrorKinds returns an error-kind map as "count× message" lines,
// most frequent first.
func SortErrorKinds(m map[string]int) []string {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].v > s[j].v || (s[i].v == s[j].v && s[i].k < s[j].k) })
	out := make([]string, len(s))
	for i, e := range s {
		out[i] = fmt.Sprintf("%d× %s", e.v, e.k)
	}
	return out
}
