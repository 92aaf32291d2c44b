package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is the machine-readable output of a bench run (`--json`).
type Report struct {
	URL        string   `json:"url"`
	Label      string   `json:"label,omitempty"`
	SigningAlg string   `json:"signingAlg,omitempty"`
	Results    []Result `json:"results"`
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the results as an aligned table (operation,
// concurrency, requests/s, p50, p90, p99, errors) followed by the kinds of
// errors seen, if any.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tconcurrency\trequests/s\tp50\tp90\tp99\terrors\t")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t\n", res.Operation, res.Concurrency, res.RPS,
			res.P50, res.P90, res.P99, res.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		for _, line := range SortErrorKinds(res.ErrorKinds) {
			fmt.Fprintf(w, "  %s error: %s\n", res.Operation, line)
		}
	}
	return nil
}

// String formats a latency for the table: microsecond precision below
// 10 ms, then tenths of a millisecond.
func (m Millis) String() string {
	if m < 10 {
		return fmt.Sprintf("%.2fms", float64(m))
	}
	return fmt.Sprintf("%.1fms", float64(m))
}
