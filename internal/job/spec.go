package job

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultRetries is how many times a run is retried after a retryable
// (transient or conflict) failure when the job does not say.
const DefaultRetries = 3

// MaxRetries bounds a job's retries setting.
const MaxRetries = 100

// Spec is one job as declared in lakeport.yaml.
type Spec struct {
	// Index is the job's position in the file's jobs list; field errors are
	// named from it: jobs[Index].settings.table.
	Index      int
	Name       string
	Kind       string // a registered kind, e.g. import.table
	Connection string // a connection name; empty if the file has none
	Schedule   Schedule
	// Settings is the kind's own settings, kept as YAML so the kind can
	// decode them strictly (DecodeSettings). Kind 0 when absent.
	Settings yaml.Node
	// Notify is a webhook URL POSTed a JSON notification when a run fails
	// (may hold ${NAME} references; empty: no notification).
	Notify EnvString
	// Retries is how many times a failed run is retried when its error is
	// retryable (errs.Transient, errs.Conflict).
	Retries int
	// Paused jobs are not scheduled (`lakeport run` still runs them).
	Paused bool
}

// Path returns the job's path in the configuration, e.g. "jobs[2]".
func (s *Spec) Path() string { return fmt.Sprintf("jobs[%d]", s.Index) }

// DecodeSettings decodes the job's settings strictly into out, a pointer to
// the kind's settings struct. Keys map to `yaml:"name"` tags; a field tagged
// `lakeport:"required"` must be present (and, for strings, non-empty);
// unknown keys and values of the wrong type are errors. Fields absent from
// the file keep the values out had, so set defaults first. Every problem is
// reported with its path, e.g. `jobs[2].settings.timestamp_column:
// required`; the error classifies as errs.Invalid.
func (s *Spec) DecodeSettings(out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("DecodeSettings: want a non-nil pointer, got %T", out)
	}
	n := &s.Settings
	if isNull(n) {
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	var p problems
	decode(n, s.Path()+".settings", rv.Elem(), &p)
	return p.err()
}

// Errorf returns an invalid-configuration error naming field of this job:
// spec.Errorf("settings.table", "table %q not found", t) gives
// `jobs[2].settings.table: table "x" not found`.
func (s *Spec) Errorf(field, format string, args ...any) error {
	path := s.Path()
	if field != "" {
		path += "." + field
	}
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// specJSON is a job definition as held in the state store.
type specJSON struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Connection string `json:"connection,omitempty"`
	Schedule   string `json:"schedule"`
	Settings   any    `json:"settings,omitempty"`
	Notify     string `json:"notify,omitempty"`
	Retries    int    `json:"retries"`
	Paused     bool   `json:"paused,omitempty"`
}

// MarshalJSON writes the definition held in the state store: settings as
// JSON, the schedule as its description, the notify URL masked.
func (s *Spec) MarshalJSON() ([]byte, error) {
	j := specJSON{Name: s.Name, Kind: s.Kind, Connection: s.Connection, Schedule: s.Schedule.String(),
		Notify: s.Notify.String(), Retries: s.Retries, Paused: s.Paused}
	if !isNull(&s.Settings) {
		budget := maxVisits
		j.Settings = nodeJSON(&s.Settings, &budget)
	}
	return json.Marshal(j)
}

// nodeJSON converts a YAML node to JSON-able values: mappings to objects
// (keys as written), sequences to arrays, scalars to their resolved type.
// Aliases are followed within a budget of nodes.
func nodeJSON(n *yaml.Node, budget *int) any {
	if *budget--; *budget < 0 || n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return nodeJSON(n.Content[0], budget)
	case yaml.AliasNode:
		return nodeJSON(n.Alias, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeJSON(n.Content[i+1], budget)
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, c := range n.Content {
			a[i] = nodeJSON(c, budget)
		}
		return a
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	switch x := v.(type) {
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return n.Value
		}
	case []byte, time.Time:
		return n.Value
	}
	return v
}
