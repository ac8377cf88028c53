package platform_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

func TestNormalizePhone(t *testing.T) {
	good := map[string]string{
		"+31612345678":        "+31612345678",
		"+31 6 1234 5678":     "+31612345678",
		"0031 6-12345678":     "+31612345678",
		"+44 (0)20 7946 0958": "+442079460958",
		"+1 (415) 555.2671":   "+14155552671",
		" +49/30/123456 ":     "+4930123456",
		"+123456789012345":    "+123456789012345",
	}
	for in, want := range good {
		got, err := platform.NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0612345678", "+1234567", "+1234567890123456", "+0612345678", "+31 6 1234 5678 x2", "++31612345678", "+31a612345678"} {
		if got, err := platform.NormalizePhone(in); err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want an error", in, got)
		}
	}
}

func TestNormalizeEmailAndUUID(t *testing.T) {
	if got, err := platform.NormalizeEmail("  Ada.L@Example.COM "); err != nil || got != "ada.l@example.com" {
		t.Errorf("NormalizeEmail = %q, %v", got, err)
	}
	for _, in := range []string{"", "a", "a@b", "a@@b.c", "@b.c", "a@.b.c", "a@b.c.", "a b@c.d", "a@b..c"} {
		if _, err := platform.NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q): want an error", in)
		}
	}
	want := "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	for _, in := range []string{want, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "{" + want + "}", "urn:uuid:" + want, "6ba7b8109dad11d180b400c04fd430c8"} {
		if got, err := platform.NormalizeUUID(in); err != nil || got != want {
			t.Errorf("NormalizeUUID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "6ba7b810-9dad-11d1-80b4", "6ba7b810-9dad-11d1-80b4-00c04fd430cg", "6ba7b8109-dad-11d1-80b4-00c04fd430c8"} {
		if _, err := platform.NormalizeUUID(in); err == nil {
			t.Errorf("NormalizeUUID(%q): want an error", in)
		}
	}
}

func TestValidateEvent(t *testing.T) {
	cases := []struct {
		data string
		ts   time.Time
		ok   bool
	}{
		{`{}`, time.Time{}, true},
		{` {"a":{"event_ts":"nested"},"b":["event_ts"]} `, time.Time{}, true},
		{`{"a":"x\"event_ts\":1","event_ts":"2024-01-02T03:04:05.000001Z"}`, time.Date(2024, 1, 2, 3, 4, 5, 1000, time.UTC), true},
		{`{"event_ts" : "2024-01-02T04:04:05+01:00" , "z": 1}`, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{`{"event_ts":null}`, time.Time{}, false},
		{`{"event_ts":"2024-13-01T00:00:00Z"}`, time.Time{}, false},
		{`[]`, time.Time{}, false},
		{`{"a":1,}`, time.Time{}, false},
		{``, time.Time{}, false},
	}
	for _, c := range cases {
		ts, err := platform.ValidateEvent([]byte(c.data))
		if (err == nil) != c.ok || !ts.Equal(c.ts) {
			t.Errorf("ValidateEvent(%s) = %v, %v; want %v ok=%v", c.data, ts, err, c.ts, c.ok)
		}
		if err != nil && !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("ValidateEvent(%s): error %v is not ErrInvalid", c.data, err)
		}
	}
}

func TestDecodeNDJSONLineNumbers(t *testing.T) {
	_, err := platform.DecodeNDJSON([]byte("{\"a\":1}\r\n\r\n{\"b\":2}\n{\"c\":\n"))
	var le *platform.LineError
	if !errors.As(err, &le) || le.Line != 4 {
		t.Fatalf("error %v, want line 4", err)
	}
	if got := err.Error(); got[:7] != "line 4:" {
		t.Errorf("message %q does not start with the line", got)
	}
	evs, err := platform.DecodeNDJSON([]byte("{\"a\":1}\n{\"event_ts\":\"2024-01-01T00:00:00Z\"}"))
	if err != nil || len(evs) != 2 || !evs[1].EventTS.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("DecodeNDJSON = %+v, %v", evs, err)
	}
}

func TestCompileDefinition(t *testing.T) {
	fields := append([]platform.Field{{Name: "age", Type: platform.TypeNumber}, {Name: "seen", Type: platform.TypeDatetime},
		{Name: "tags", Type: platform.TypeStringArray}}, platform.BuiltinFields...)
	reg := platform.NewRegistry(fields)
	p := &platform.Profile{ID: 7, Identifiers: []platform.Identifier{{Field: "email", Value: "a@b.io"}},
		Attributes: map[string]any{"age": 30.0, "seen": "2024-05-01T00:00:00Z", "tags": []any{"x"}}}
	act := platform.NewActivation(p, reg)
	for def, want := range map[string]bool{
		`age >= 18`: true,
		`age > 30`:  false,
		`seen > timestamp("2024-01-01T00:00:00Z")`: true,
		`"x" in tags && "a@b.io" in email`:         true,
		`size(phone) == 0 && id == 7`:              true,
		`has(attrs.vip)`:                           false,
	} {
		d, err := platform.CompileDefinition(def, fields)
		if err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		if got := d.Match(act); got != want {
			t.Errorf("%s = %v, want %v", def, got, want)
		}
	}
}

// FuzzDecodeNDJSON: decoding never panics, and every accepted line is a
// valid JSON object whose event_ts (if any) parsed.
func FuzzDecodeNDJSON(f *testing.F) {
	for _, s := range []string{"{}\n{\"a\":1}", "{\"event_ts\":\"2024-01-01T00:00:00Z\"}", "{\"a\":\"\\\"event_ts\\\"\"}", "[1]\n", "{\"a\":{\"b\":[{}]}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := platform.DecodeNDJSON(body)
		if err != nil {
			if !errors.Is(err, platform.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		for _, e := range evs {
			if _, err := platform.ValidateEvent(e.Data); err != nil {
				t.Fatalf("accepted event %q fails validation: %v", e.Data, err)
			}
		}
	})
}
