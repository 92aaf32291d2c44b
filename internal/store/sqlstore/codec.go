package sqlstore

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// The encodings of the package doc, as driver.Valuer (write) and sql.Scanner
// (read) adapters, so every statement passes its arguments the same way.

var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// nanos writes a time as UTC unix nanoseconds, the zero time as NULL.
type nanos time.Time

// Value implements driver.Valuer.
func (t nanos) Value() (driver.Value, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return nil, nil
	}
	if tt.Before(minTime) || tt.After(maxTime) {
		return nil, fmt.Errorf("time %s is outside the storable range %d–%d", tt.Format(time.RFC3339), minTime.Year(), maxTime.Year())
	}
	return tt.UnixNano(), nil
}

// timeScan reads what nanos wrote: NULL becomes the zero time, anything
// else a UTC time.
type timeScan struct{ t *time.Time }

// Scan implements sql.Scanner.
func (s timeScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		*s.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	return nil
}

// nullString writes the empty string as NULL.
type nullString string

// Value implements driver.Valuer.
func (s nullString) Value() (driver.Value, error) {
	if s == "" {
		return nil, nil
	}
	return string(s), nil
}

// stringScan reads a nullable text column, NULL as "".
type stringScan struct{ s *string }

// Scan implements sql.Scanner.
func (s stringScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.s = ""
	case string:
		*s.s = v
	case []byte:
		*s.s = string(v)
	default:
		return fmt.Errorf("text column: unexpected %T", src)
	}
	return nil
}

// nullBytes writes an empty byte slice as NULL.
type nullBytes []byte

// Value implements driver.Valuer.
func (b nullBytes) Value() (driver.Value, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return []byte(b), nil
}

// bytesScan reads a nullable blob column, NULL (or empty) as nil.
type bytesScan struct{ b *[]byte }

// Scan implements sql.Scanner.
func (s bytesScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.b = nil
	case []byte:
		if len(v) == 0 {
			*s.b = nil
		} else {
			*s.b = bytes.Clone(v)
		}
	default:
		return fmt.Errorf("blob column: unexpected %T", src)
	}
	return nil
}

// jsonList writes a []string as a JSON array; nil and empty both as "[]".
type jsonList []string

// Value implements driver.Valuer.
func (l jsonList) Value() (driver.Value, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// listScan reads what jsonList wrote; an empty array becomes nil.
type listScan struct{ l *[]string }

// Scan implements sql.Scanner.
func (s listScan) Scan(src any) error {
	raw, err := textOf(src)
	if err != nil {
		return fmt.Errorf("list column: %w", err)
	}
	var l []string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("list column: %w", err)
		}
	}
	if len(l) == 0 {
		l = nil
	}
	*s.l = l
	return nil
}

// jsonValue writes any value as JSON text.
type jsonValue struct{ v any }

// Value implements driver.Valuer.
func (j jsonValue) Value() (driver.Value, error) {
	b, err := json.Marshal(j.v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonScan reads JSON text into ptr; NULL leaves it untouched.
type jsonScan struct{ ptr any }

// Scan implements sql.Scanner.
func (s jsonScan) Scan(src any) error {
	raw, err := textOf(src)
	if err != nil || len(raw) == 0 {
		return err
	}
	if err := json.Unmarshal(raw, s.ptr); err != nil {
		return fmt.Errorf("json column: %w", err)
	}
	return nil
}

// textOf returns the bytes of a text column; NULL is empty.
func textOf(src any) ([]byte, error) {
	switch v := src.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	default:
		return nil, fmt.Errorf("unexpected %T", src)
	}
}

// durationScan reads BIGINT nanoseconds into a time.Duration.
type durationScan struct{ d *time.Duration }

// Scan implements sql.Scanner.
func (s durationScan) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("duration column: unexpected %T", src)
	}
	*s.d = time.Duration(v)
	return nil
}
