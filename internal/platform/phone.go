package platform

import (
	"fmt"
	"strings"
)

// NormalizePhone returns a phone number in E.164 form: "+" and 8 to 15
// digits, the first not 0. It accepts the usual punctuation (spaces, dots,
// dashes, parentheses, a "/"), an international "00" prefix in place of "+",
// and a "(0)" trunk marker after the country code ("+44 (0)20 ..."). A
// number without a country code is refused rather than guessed.
func NormalizePhone(s string) (string, error) {
	t := strings.TrimSpace(s)
	t = strings.Replace(t, "(0)", "", 1)
	var digits strings.Builder
	plus := false
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", fmt.Errorf("%q is not a phone number (unexpected %q)", s, r)
		}
	}
	d := digits.String()
	if !plus {
		if !strings.HasPrefix(d, "00") {
			return "", fmt.Errorf("%q has no country code (write it as +CC... or 00CC...)", s)
		}
		d = d[2:]
	}
	if len(d) < 8 || len(d) > 15 {
		return "", fmt.Errorf("%q: E.164 numbers have 8 to 15 digits, got %d", s, len(d))
	}
	if d[0] == '0' {
		return "", fmt.Errorf("%q: country codes do not start with 0", s)
	}
	return "+" + d, nil
}
