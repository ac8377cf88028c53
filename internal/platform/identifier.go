package platform

import (
	"fmt"
	"strings"
)

// Identifier is one identifying value of a profile, e.g. email
// "ada@example.com". Its Field is an identifier field of the registry.
type Identifier struct {
	Field string
	Value string
}

// String renders "field:value", the form ParseIdentifier reads.
func (id Identifier) String() string { return id.Field + ":" + id.Value }

// ParseIdentifier reads "field:value" (e.g. "email:ada@example.com",
// "phone:+31612345678"). It does not normalise.
func ParseIdentifier(s string) (Identifier, error) {
	field, value, ok := strings.Cut(s, ":")
	if !ok || field == "" || value == "" {
		return Identifier{}, Invalidf("identifier %q: want FIELD:VALUE, e.g. email:ada@example.com", s)
	}
	return Identifier{Field: field, Value: value}, nil
}

// NormalizeIdentifier checks that id.Field is an identifier field and
// returns id with its value in canonical form; a bad value is a *FieldError.
func (r Registry) NormalizeIdentifier(id Identifier) (Identifier, error) {
	f, ok := r[id.Field]
	if !ok {
		return Identifier{}, &FieldError{Field: id.Field, Reason: "unknown identifier field"}
	}
	if !f.Identifier {
		return Identifier{}, &FieldError{Field: id.Field, Reason: "is an attribute, not an identifier field"}
	}
	v, err := normalizeIdentifierValue(id.Field, id.Value)
	if err != nil {
		return Identifier{}, &FieldError{Field: id.Field, Reason: err.Error()}
	}
	return Identifier{Field: id.Field, Value: v}, nil
}

func normalizeIdentifierValue(field, v string) (string, error) {
	switch field {
	case FieldEmail:
		return NormalizeEmail(v)
	case FieldPhone:
		return NormalizePhone(v)
	case FieldUUID:
		return NormalizeUUID(v)
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 512 {
		return "", fmt.Errorf("value must be 1-512 characters")
	}
	return v, nil
}

// NormalizeEmail trims and lower-cases an address and checks its shape
// (local@domain.tld, no spaces, at most 254 characters).
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return "", fmt.Errorf("%q is not an email address", s)
	case len(e) > 254 || strings.ContainsAny(e, " \t\r\n<>(),;:\""):
		return "", fmt.Errorf("%q is not an email address", s)
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return "", fmt.Errorf("%q: domain %q is not valid", s, domain)
	}
	return e, nil
}

// NormalizeUUID accepts 32 hex digits with or without the usual dashes (and
// optional braces or a urn:uuid: prefix) and returns the lower-case
// 8-4-4-4-12 form.
func NormalizeUUID(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "urn:uuid:")
	t = strings.TrimSuffix(strings.TrimPrefix(t, "{"), "}")
	hex := strings.ReplaceAll(t, "-", "")
	if len(hex) != 32 || (len(t) != 32 && len(t) != 36) {
		return "", fmt.Errorf("%q is not a UUID", s)
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%q is not a UUID", s)
		}
	}
	if len(t) == 36 && (t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-') {
		return "", fmt.Errorf("%q is not a UUID", s)
	}
	return hex[:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:], nil
}
