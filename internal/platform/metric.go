package platform

import (
	"math"
	"time"
)

// Metric is one time-series point, e.g. dimension "audience", dimension id
// "vip", type "size", value 1234.
type Metric struct {
	ID          int64
	Dimension   string
	DimensionID string
	Type        string
	Timestamp   time.Time
	Value       float64
}

// Dimensions and types the platform and jobs write.
const (
	DimensionStream   = "stream"
	DimensionAudience = "audience"
	DimensionJob      = "job"

	MetricEvents   = "events"   // stream: events appended by one write
	MetricSize     = "size"     // audience: members after a change
	MetricAdded    = "added"    // audience: entries by one change
	MetricRemoved  = "removed"  // audience: exits by one change
	MetricRows     = "rows"     // job run
	MetricBytes    = "bytes"    // job run
	MetricDuration = "duration" // job run, seconds
)

// MetricQuery selects points; empty strings and zero times match all.
// From is inclusive, To exclusive.
type MetricQuery struct {
	Dimension   string
	DimensionID string
	Type        string
	From, To    time.Time
	AfterID     int64
	Limit       int
}

// Validate checks the fields a caller must set.
func (m Metric) Validate() error {
	if m.Dimension == "" {
		return &FieldError{Field: "dimension", Reason: "is required"}
	}
	if m.Type == "" {
		return &FieldError{Field: "type", Reason: "is required"}
	}
	if m.Timestamp.IsZero() {
		return &FieldError{Field: "timestamp", Reason: "is required"}
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		return &FieldError{Field: "value", Reason: "must be a finite number"}
	}
	return nil
}
