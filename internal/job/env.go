package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/platform"
)

// Connector opens a lakehouse for a configured connection. Lakehouse
// drivers register one per connection type (RegisterConnector) from init;
// the value it returns is what Env.Connections gives flows (they assert the
// port type they need). If it implements io.Closer, Env.Close closes it.
type Connector func(ctx context.Context, c *Connection) (any, error)

var (
	connMu     sync.RWMutex
	connectors = map[string]Connector{}
)

// RegisterConnector makes a connection type openable.
func RegisterConnector(typ string, c Connector) {
	connMu.Lock()
	connectors[typ] = c
	connMu.Unlock()
}

// DefaultStagingDir is where exports stage files by default, relative to
// the configuration file's directory.
const DefaultStagingDir = ".lakeport/staging"

// NewEnv returns the services of a configuration: the platform store and
// the configured connections, each opened on first use through its type's
// Connector and shared afterwards. Close closes the connections (not the
// platform store).
func NewEnv(p platform.Store, cfg *Config) *Env {
	e := &Env{Platform: p, conns: &connSet{open: map[string]any{}}}
	if cfg != nil {
		e.StagingDir = filepath.Join(cfg.Dir, DefaultStagingDir)
	}
	e.Connections = func(ctx context.Context, name string) (any, error) {
		return e.connection(ctx, cfg, name)
	}
	return e
}

// connSet is the connections an Env opened.
type connSet struct {
	mu   sync.Mutex
	open map[string]any
}

func (e *Env) connection(ctx context.Context, cfg *Config, name string) (any, error) {
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	if v, ok := e.conns.open[name]; ok {
		return v, nil
	}
	if name == "" {
		return nil, errs.Invalidf("the job names no connection (set connection: NAME, one of the file's connections)")
	}
	c, ok := cfg.Connection(name)
	if !ok {
		return nil, errs.Invalidf("unknown connection %q", name)
	}
	connMu.RLock()
	open := connectors[c.Type]
	var types []string
	for t := range connectors {
		types = append(types, t)
	}
	connMu.RUnlock()
	if open == nil {
		sort.Strings(types)
		return nil, errs.Unsupportedf("connections.%s: connection type %q is not available in this build (available: %s)",
			name, c.Type, strings.Join(types, ", "))
	}
	v, err := open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", name, err)
	}
	e.conns.open[name] = v
	return v, nil
}

// Close closes the connections the Env opened.
func (e *Env) Close() error {
	if e == nil || e.conns == nil {
		return nil
	}
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	var all []error
	for name, v := range e.conns.open {
		if c, ok := v.(io.Closer); ok {
			if err := c.Close(); err != nil {
				all = append(all, fmt.Errorf("closing connection %s: %w", name, err))
			}
		}
		delete(e.conns.open, name)
	}
	return errors.Join(all...)
}

// ConnectionAs resolves spec's connection through env and asserts the port
// type the flow needs; what names that type in the error ("a lakehouse").
func ConnectionAs[T any](ctx context.Context, spec *Spec, env *Env, what string) (T, error) {
	var zero T
	if env == nil || env.Connections == nil {
		return zero, errs.Invalidf("%s: no connections are configured", spec.Path())
	}
	v, err := env.Connections(ctx, spec.Connection)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, spec.Errorf("connection", "connection %q is not %s (it is a %T)", spec.Connection, what, v)
	}
	return t, nil
}
