package platform

import "time"

// Audience is a named set of profiles: those for which Definition, a CEL
// expression over profile fields, is true.
type Audience struct {
	ID         int64
	Slug       string
	Definition string
	Version    int64 // 1 on creation, +1 per definition change
	Members    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Member is a profile in an audience and when it entered.
type Member struct {
	Profile   Profile
	EnteredAt time.Time
}

// Change kinds of an AudienceChange.
const (
	Enter = "enter"
	Exit  = "exit"
)

// AudienceChange is one entry of the enter/exit log. IDs are a gap-free
// sequence over all audiences; times never decrease along it.
type AudienceChange struct {
	ID        int64
	Time      time.Time
	Audience  string // slug
	ProfileID int64
	Change    string // Enter or Exit
}

// Cursor returns the position just after c.
func (c AudienceChange) Cursor() Cursor { return Cursor{Time: c.Time, ID: c.ID} }

// RefreshStats counts the work of an audience refresh.
type RefreshStats struct {
	ProfilesEvaluated int // profiles looked at (each against every audience)
	Entered           int
	Exited            int
}

// Add accumulates s2 into s.
func (s *RefreshStats) Add(s2 RefreshStats) {
	s.ProfilesEvaluated += s2.ProfilesEvaluated
	s.Entered += s2.Entered
	s.Exited += s2.Exited
}

// ValidateSlug accepts 1-64 characters of a-z, 0-9, '_' and '-', starting
// with a letter or digit.
func ValidateSlug(slug string) error {
	if slug == "" || len(slug) > 64 {
		return Invalidf("audience slug must be 1-64 characters, got %d", len(slug))
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')) {
			return Invalidf("audience slug %q: only a-z, 0-9, _ and - allowed (starting with a letter or digit)", slug)
		}
	}
	return nil
}
