package platform

import (
	"sort"
	"time"
)

// Profile is a person known to the platform: a set of identifiers and a map
// of attributes (in the stored form NormalizeAttributes returns).
type Profile struct {
	ID          int64
	Identifiers []Identifier // sorted by field, then value
	Attributes  map[string]any
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ProfileInput upserts a profile. The profile is found by any of its
// identifiers; if they lead to several profiles those are merged into the
// oldest (lowest ID). Identifiers are added, never removed; attributes are
// merged, and a nil value removes one.
type ProfileInput struct {
	Identifiers []Identifier
	Attributes  map[string]any
}

// UpsertResult reports the profile an input landed on.
type UpsertResult struct {
	ID      int64
	Created bool
	Changed bool    // false when the input changed nothing (no write, no audience work)
	Merged  []int64 // profiles merged into ID and deleted
}

// SortIdentifiers sorts ids by field, then value.
func SortIdentifiers(ids []Identifier) {
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Field != ids[j].Field {
			return ids[i].Field < ids[j].Field
		}
		return ids[i].Value < ids[j].Value
	})
}

// Values returns the values p holds for an identifier field.
func (p *Profile) Values(field string) []string {
	var out []string
	for _, id := range p.Identifiers {
		if id.Field == field {
			out = append(out, id.Value)
		}
	}
	return out
}
