package job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/errs"
)

// Default store locations, relative to the configuration file's directory.
const (
	DefaultPlatform = "sqlite://.lakeport/platform.db"
	DefaultState    = "sqlite://.lakeport/state.db"
)

// Config is a parsed lakeport.yaml.
type Config struct {
	File string // the file it was read from; empty when parsed from bytes
	Dir  string // relative paths in the file resolve against it

	// Platform and State are store locations: sqlite://PATH (relative paths
	// resolved against Dir) or postgres://... (a password only as ${NAME}).
	Platform EnvString
	State    EnvString

	Connections []*Connection // in file order
	Jobs        []*Spec       // in file order
}

// Connection types.
const (
	ConnLocal      = "local"      // a directory of catalog/schema/table Delta tables
	ConnDatabricks = "databricks" // a Databricks SQL warehouse
)

// Connection is a lakehouse the jobs read or write.
type Connection struct {
	Name string `yaml:"-" json:"name"`
	Type string `yaml:"type" json:"type" lakeport:"required"`

	// local
	Path string `yaml:"path" json:"path,omitempty"` // absolute after Load

	// databricks
	Host         string `yaml:"host" json:"host,omitempty"`
	HTTPPath     string `yaml:"http_path" json:"http_path,omitempty"`
	Token        Secret `yaml:"token" json:"token,omitzero"`
	ClientID     string `yaml:"client_id" json:"client_id,omitempty"`
	ClientSecret Secret `yaml:"client_secret" json:"client_secret,omitzero"`
	Catalog      string `yaml:"catalog" json:"catalog,omitempty"` // default catalog (optional)
	// Port is the workspace's HTTPS port (DefaultDatabricksPort when unset).
	Port int `yaml:"port" json:"port,omitempty"`
	// WarehouseWait bounds how long a run waits for a stopped or starting
	// SQL warehouse to be running (DefaultWarehouseWait when unset).
	WarehouseWait time.Duration `yaml:"warehouse_wait" json:"warehouse_wait,omitempty"`
	// Staging is where exports stage files for COPY INTO: a Unity Catalog
	// volume path (/Volumes/catalog/schema/volume[/prefix]) or a bucket URL
	// the warehouse can read (s3://, gs://, azblob://). Optional; needed by
	// exports into this connection.
	Staging string `yaml:"staging" json:"staging,omitempty"`
}

// Databricks connection defaults.
const (
	DefaultDatabricksPort = 443
	DefaultWarehouseWait  = 10 * time.Minute
	// MaxWarehouseWait is the longest warehouse_wait accepted.
	MaxWarehouseWait = 24 * time.Hour
)

type rawJob struct {
	Name       string    `yaml:"name" lakeport:"required"`
	Kind       string    `yaml:"kind" lakeport:"required"`
	Connection string    `yaml:"connection"`
	Schedule   Schedule  `yaml:"schedule"`
	Settings   yaml.Node `yaml:"settings"`
	Notify     EnvString `yaml:"notify"`
	Retries    *int      `yaml:"retries"`
	Paused     bool      `yaml:"paused"`
}

type rawConfig struct {
	Platform    EnvString `yaml:"platform"`
	State       EnvString `yaml:"state"`
	Connections yaml.Node `yaml:"connections"`
	Jobs        yaml.Node `yaml:"jobs"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errs.Invalidf("configuration file %s not found (use --config FILE)", path)
		}
		return nil, errs.Invalidf("configuration file: %v", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, filepath.Dir(abs))
	if err != nil {
		var ce *ConfigError
		var fe *FieldError
		switch {
		case errors.As(err, &ce):
			ce.File = path
			return nil, ce
		case errors.As(err, &fe):
			return nil, &ConfigError{File: path, Problems: []*FieldError{fe}}
		}
		return nil, errs.Invalidf("%s: %v", path, err)
	}
	c.File = path
	return c, nil
}

// Parse parses and validates a configuration; relative paths resolve
// against dir. Every problem is reported, each naming its field; the error
// classifies as errs.Invalid.
func Parse(data []byte, dir string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errs.Invalidf("%s", yamlReason(err))
	}
	var raw rawConfig
	var p problems
	if len(doc.Content) > 0 {
		decodeValue(&doc, "", &raw, &p)
	}
	c := &Config{Dir: dir}
	c.Platform = checkStore(raw.Platform, "platform", DefaultPlatform, dir, &p)
	c.State = checkStore(raw.State, "state", DefaultState, dir, &p)

	conns := map[string]*Connection{}
	n := &raw.Connections
	if !isNull(n) {
		if n.Kind != yaml.MappingNode {
			p.add("connections", "want a mapping of connection names to connections")
		} else {
			for i := 0; i+1 < len(n.Content); i += 2 {
				name := n.Content[i].Value
				path := join("connections", name)
				if !nameRE.MatchString(name) {
					p.add(path, "connection names are letters, digits, '_', '-' and '.', starting with a letter or digit")
					continue
				}
				if conns[name] != nil {
					p.add(path, "duplicate connection")
					continue
				}
				conn := &Connection{Name: name}
				before := len(p.list)
				decodeValue(n.Content[i+1], path, conn, &p)
				if len(p.list) == before {
					checkConnection(conn, path, dir, &p)
				}
				conns[name] = conn
				c.Connections = append(c.Connections, conn)
			}
		}
	}

	jobs := map[string]int{}
	known := Kinds()
	sort.Strings(known)
	var jobNodes []*yaml.Node
	if !isNull(&raw.Jobs) {
		if raw.Jobs.Kind != yaml.SequenceNode {
			p.add("jobs", "want a list")
		} else {
			jobNodes = raw.Jobs.Content
		}
	}
	for i, jn := range jobNodes {
		path := fmt.Sprintf("jobs[%d]", i)
		var rj rawJob
		before := len(p.list)
		decodeValue(jn, path, &rj, &p)
		if len(p.list) > before && jn.Kind != yaml.MappingNode {
			continue
		}
		s := &Spec{Index: i, Name: rj.Name, Kind: rj.Kind, Connection: rj.Connection, Schedule: rj.Schedule,
			Settings: rj.Settings, Notify: rj.Notify, Retries: DefaultRetries, Paused: rj.Paused}
		if def, ok := DefaultSchedule(rj.Kind); ok && !hasKey(jn, "schedule") {
			s.Schedule = def
		}
		if rj.Name != "" {
			if !nameRE.MatchString(rj.Name) {
				p.add(path+".name", "job names are letters, digits, '_', '-' and '.', starting with a letter or digit (at most 100)")
			} else if j, dup := jobs[rj.Name]; dup {
				p.add(path+".name", fmt.Sprintf("%q is already the name of jobs[%d]", rj.Name, j))
			} else {
				jobs[rj.Name] = i
			}
		}
		if rj.Kind != "" && !slices.Contains(known, rj.Kind) {
			list := "none are registered"
			if len(known) > 0 {
				list = "known: " + strings.Join(known, ", ")
			}
			p.add(path+".kind", fmt.Sprintf("unknown kind %q (%s)", rj.Kind, list))
		}
		switch {
		case rj.Connection != "" && conns[rj.Connection] == nil:
			names := make([]string, 0, len(c.Connections))
			for _, cn := range c.Connections {
				names = append(names, cn.Name)
			}
			list := "none are defined under connections"
			if len(names) > 0 {
				list = "defined: " + strings.Join(names, ", ")
			}
			p.add(path+".connection", fmt.Sprintf("unknown connection %q (%s)", rj.Connection, list))
		case rj.Connection == "" && len(c.Connections) == 1:
			s.Connection = c.Connections[0].Name
		}
		if rj.Retries != nil {
			if *rj.Retries < 0 || *rj.Retries > MaxRetries {
				p.add(path+".retries", fmt.Sprintf("want 0-%d", MaxRetries))
			} else {
				s.Retries = *rj.Retries
			}
		}
		if !rj.Notify.IsZero() {
			r := rj.Notify.Raw()
			if !strings.HasPrefix(r, "https://") && !strings.HasPrefix(r, "http://") && !strings.HasPrefix(r, "${") {
				p.add(path+".notify", "want an http:// or https:// URL")
			}
		}
		if !isNull(&rj.Settings) {
			if rj.Settings.Kind != yaml.MappingNode {
				p.add(path+".settings", "want a mapping")
			} else {
				checkKeys(&rj.Settings, path+".settings", &p, 0)
			}
		}
		c.Jobs = append(c.Jobs, s)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkKeys requires every mapping key under n to be a name (a scalar).
func checkKeys(n *yaml.Node, path string, p *problems, depth int) {
	if depth > 100 {
		p.add(path, "nested too deeply")
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				p.add(path, "keys must be names, not lists or mappings")
				return
			}
			checkKeys(n.Content[i+1], join(path, k.Value), p, depth+1)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			checkKeys(c, fmt.Sprintf("%s[%d]", path, i), p, depth+1)
		}
	}
}

func checkStore(v EnvString, path, def, dir string, p *problems) EnvString {
	if v.IsZero() {
		v = EnvString{raw: def, path: path}
	}
	r := v.Raw()
	switch {
	case strings.HasPrefix(r, "sqlite://"):
		f := strings.TrimPrefix(r, "sqlite://")
		if f == "" || strings.ContainsAny(f, "?#") {
			p.add(path, "want sqlite://PATH (a file name, no '?' or '#')")
			return v
		}
		if !filepath.IsAbs(f) && !strings.HasPrefix(f, "${") {
			v.raw = "sqlite://" + filepath.Join(dir, f)
		}
	case strings.HasPrefix(r, "postgres://"), strings.HasPrefix(r, "postgresql://"):
		if literalPassword(r) {
			p.add(path, "the password must be an environment reference, e.g. postgres://user:${PGPASSWORD}@host/db: secrets are never written in the configuration file")
		}
	case strings.HasPrefix(r, "${"):
		// the whole location from the environment
	default:
		p.add(path, fmt.Sprintf("want sqlite://PATH or postgres://..., got %q", redactURL(r)))
	}
	return v
}

func checkConnection(c *Connection, path, dir string, p *problems) {
	only := func(field, typ string, set bool) {
		if set {
			p.add(path+"."+field, "only for type "+typ)
		}
	}
	switch c.Type {
	case ConnLocal:
		if c.Path == "" {
			p.add(path+".path", "required (the directory holding catalog/schema/table)")
		} else if !filepath.IsAbs(c.Path) {
			c.Path = filepath.Join(dir, c.Path)
		}
		only("host", ConnDatabricks, c.Host != "")
		only("http_path", ConnDatabricks, c.HTTPPath != "")
		only("token", ConnDatabricks, !c.Token.IsZero())
		only("client_id", ConnDatabricks, c.ClientID != "")
		only("client_secret", ConnDatabricks, !c.ClientSecret.IsZero())
		only("catalog", ConnDatabricks, c.Catalog != "")
		only("port", ConnDatabricks, c.Port != 0)
		only("warehouse_wait", ConnDatabricks, c.WarehouseWait != 0)
		only("staging", ConnDatabricks, c.Staging != "")
	case ConnDatabricks:
		only("path", ConnLocal, c.Path != "")
		if c.Host == "" {
			p.add(path+".host", "required (the workspace host, e.g. adb-1234567890123456.7.azuredatabricks.net)")
		} else if strings.Contains(c.Host, "/") && !strings.HasPrefix(c.Host, "https://") {
			p.add(path+".host", "want a host name or https:// URL")
		}
		if c.HTTPPath == "" {
			p.add(path+".http_path", "required (the SQL warehouse's HTTP path, e.g. /sql/1.0/warehouses/abc123)")
		} else if !strings.HasPrefix(c.HTTPPath, "/") {
			p.add(path+".http_path", "want a path starting with /")
		}
		oauth := c.ClientID != "" || !c.ClientSecret.IsZero()
		switch {
		case !c.Token.IsZero() && oauth:
			p.add(path+".token", "use either token or client_id and client_secret, not both")
		case oauth && c.ClientID == "":
			p.add(path+".client_id", "required with client_secret")
		case oauth && c.ClientSecret.IsZero():
			p.add(path+".client_secret", "required with client_id")
		case !oauth && c.Token.IsZero():
			p.add(path+".token", "required (e.g. token: ${DATABRICKS_TOKEN}), or client_id and client_secret")
		}
		switch {
		case c.Port == 0:
			c.Port = DefaultDatabricksPort
		case c.Port < 1 || c.Port > 65535:
			p.add(path+".port", fmt.Sprintf("want a TCP port 1-65535, got %d", c.Port))
		}
		switch {
		case c.WarehouseWait == 0:
			c.WarehouseWait = DefaultWarehouseWait
		case c.WarehouseWait < time.Second || c.WarehouseWait > MaxWarehouseWait:
			p.add(path+".warehouse_wait", fmt.Sprintf("want a duration from 1s to 24h, got %s", c.WarehouseWait))
		}
		if c.Catalog != "" && !ucNameRE.MatchString(c.Catalog) {
			p.add(path+".catalog", fmt.Sprintf("catalog name %q: letters, digits, '_' and '-' only", c.Catalog))
		}
		if c.Staging != "" {
			if reason := checkStaging(c.Staging); reason != "" {
				p.add(path+".staging", reason)
			}
		}
	default:
		p.add(path+".type", fmt.Sprintf("unknown connection type %q (want %s or %s)", c.Type, ConnLocal, ConnDatabricks))
	}
}

// ucNameRE is a Unity Catalog name Lakeport accepts unquoted (as
// lakehouse.ValidateName does).
var ucNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$`)

// checkStaging validates a Databricks connection's staging location and
// returns why it is bad ("" when good).
func checkStaging(s string) string {
	const want = "want /Volumes/CATALOG/SCHEMA/VOLUME[/PREFIX] or a bucket URL the warehouse reads (s3://, gs://, azblob://)"
	if strings.HasPrefix(s, "/Volumes/") {
		parts := strings.Split(strings.TrimPrefix(s, "/Volumes/"), "/")
		if len(parts) < 3 {
			return want + fmt.Sprintf(", got %q", s)
		}
		for i, part := range parts {
			if i == len(parts)-1 && part == "" && i >= 3 {
				continue // a trailing slash
			}
			if i < 3 && !ucNameRE.MatchString(part) {
				return fmt.Sprintf("%q: %s name %q: letters, digits, '_' and '-' only", s, [...]string{"catalog", "schema", "volume"}[i], part)
			}
			if part == "" || part == "." || part == ".." {
				return fmt.Sprintf("%q: empty, '.' or '..' path segment", s)
			}
		}
		return ""
	}
	for _, scheme := range []string{"s3://", "gs://", "azblob://"} {
		if strings.HasPrefix(s, scheme) {
			if len(s) == len(scheme) || s[len(scheme)] == '/' {
				return fmt.Sprintf("%q: the bucket name is missing", s)
			}
			return ""
		}
	}
	return want + fmt.Sprintf(", got %q", redactURL(s))
}

// Job returns the job called name.
func (c *Config) Job(name string) (*Spec, error) {
	for _, s := range c.Jobs {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(c.Jobs))
	for i, s := range c.Jobs {
		names[i] = s.Name
	}
	where := c.File
	if where == "" {
		where = "the configuration"
	}
	if len(names) == 0 {
		return nil, errs.Invalidf("no job %q: %s declares no jobs", name, where)
	}
	return nil, errs.Invalidf("no job %q in %s (jobs: %s)", name, where, strings.Join(names, ", "))
}

// Connection returns the connection called name.
func (c *Config) Connection(name string) (*Connection, bool) {
	for _, cn := range c.Connections {
		if cn.Name == name {
			return cn, true
		}
	}
	return nil, false
}

// Secrets returns the environment values of every secret and environment
// reference the configuration uses that is set, so that messages can be
// scrubbed of them (Redact).
func (c *Config) secrets() []string {
	var out []string
	add := func(v string, ok bool) {
		if ok && len(v) >= 4 {
			out = append(out, v)
		}
	}
	addSecret := func(s Secret) {
		if s.name != "" {
			add(lookupEnv(s.name))
		}
	}
	addRefs := func(e EnvString) {
		for _, m := range envRef.FindAllStringSubmatch(e.raw, -1) {
			add(lookupEnv(m[1]))
		}
	}
	for _, cn := range c.Connections {
		addSecret(cn.Token)
		addSecret(cn.ClientSecret)
	}
	addRefs(c.Platform)
	addRefs(c.State)
	for _, j := range c.Jobs {
		addRefs(j.Notify)
	}
	return out
}

// Redact replaces the value of every secret the configuration references
// (as currently set in the environment) with "[redacted]". Error messages
// pass through it before they are stored, printed or sent.
func (c *Config) Redact(s string) string {
	if c == nil {
		return s
	}
	for _, v := range c.secrets() {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}
