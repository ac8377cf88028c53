package job

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/errs"
)

// lookupEnv reads the environment; tests may replace it.
var lookupEnv = os.LookupEnv

var (
	secretRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
	envRef    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// Secret is a credential taken from the environment at the moment it is
// used. The configuration file holds only the reference, `${NAME}`; a
// literal value there is an error. Lakeport never stores or prints the
// value: String, MarshalJSON, MarshalYAML, LogValue and %v/%#v all give the
// reference, which is safe to show.
type Secret struct {
	name string // environment variable
	path string // where it was configured, for errors
}

// SecretFromEnv returns a Secret reading the environment variable name.
func SecretFromEnv(name string) Secret { return Secret{name: name} }

// IsZero reports whether no secret is configured.
func (s Secret) IsZero() bool { return s.name == "" }

// Var returns the environment variable the secret is read from.
func (s Secret) Var() string { return s.name }

// Resolve returns the secret's value from the environment. A missing or
// empty variable is an errs.Auth error naming the variable (never a value).
func (s Secret) Resolve() (string, error) {
	if s.name == "" {
		return "", errs.Authf("%s: no secret configured", s.where())
	}
	v, ok := lookupEnv(s.name)
	if !ok || v == "" {
		return "", errs.Authf("%s: environment variable %s is not set", s.where(), s.name)
	}
	return v, nil
}

func (s Secret) where() string {
	if s.path == "" {
		return "secret"
	}
	return s.path
}

// String returns the reference, "${NAME}" (or "" if none).
func (s Secret) String() string {
	if s.name == "" {
		return ""
	}
	return "${" + s.name + "}"
}

// GoString keeps %#v from printing struct internals.
func (s Secret) GoString() string { return s.String() }

// Format prints the reference for every verb.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue makes slog print the reference.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the reference.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes the reference.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

func (s *Secret) decodeNode(n *yaml.Node, path string, p *problems) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		p.add(path, "want an environment reference such as ${DATABRICKS_TOKEN}")
		return
	}
	m := secretRef.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		p.add(path, "must be an environment reference such as ${DATABRICKS_TOKEN}: secrets are never written in the configuration file")
		return
	}
	*s = Secret{name: m[1], path: path}
}

// EnvString is a configuration string that may hold `${NAME}` environment
// references, expanded only when used (store URLs, webhook URLs). The
// configuration keeps the references, so printing or storing it never
// reveals their values; String also masks a URL password.
type EnvString struct {
	raw  string
	path string
}

// NewEnvString returns an EnvString of raw.
func NewEnvString(raw string) EnvString { return EnvString{raw: raw} }

// IsZero reports whether the string is empty.
func (e EnvString) IsZero() bool { return e.raw == "" }

// Raw returns the string as configured, references unexpanded.
func (e EnvString) Raw() string { return e.raw }

// Resolve expands the references; an unset variable is an errs.Invalid
// error naming it.
func (e EnvString) Resolve() (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(e.raw, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := lookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		where := e.path
		if where == "" {
			where = "configuration"
		}
		return "", errs.Invalidf("%s: environment variable %s is not set", where, strings.Join(missing, ", "))
	}
	return out, nil
}

// String returns the configured string with a URL password masked.
func (e EnvString) String() string { return redactURL(e.raw) }

// GoString keeps %#v from printing struct internals.
func (e EnvString) GoString() string { return e.String() }

// LogValue makes slog print the masked string.
func (e EnvString) LogValue() slog.Value { return slog.StringValue(e.String()) }

// MarshalJSON writes the masked string.
func (e EnvString) MarshalJSON() ([]byte, error) { return json.Marshal(e.String()) }

func (e *EnvString) decodeNode(n *yaml.Node, path string, p *problems) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		p.add(path, "want a string")
		return
	}
	*e = EnvString{raw: n.Value, path: path}
}

// redactURL masks the password of a URL; other strings are returned as they are.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	return u.Redacted()
}

// literalPassword reports whether s is a URL whose password is written out
// rather than given as an environment reference.
func literalPassword(s string) bool {
	_, pw, has := strings.Cut(userinfo(s), ":")
	return has && pw != "" && !secretRef.MatchString(pw)
}

// userinfo returns the user[:password] part of a URL's authority.
func userinfo(s string) string {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	return rest[:at]
}
