package lakehouse

import (
	"context"
	"sort"
	"strings"
	"sync"
)

// OpenFunc opens a lakehouse of one driver from a location (for the local
// driver, a directory).
type OpenFunc func(ctx context.Context, location string) (Lakehouse, error)

var (
	driversMu sync.Mutex
	drivers   = map[string]OpenFunc{}
)

// Register makes a driver available to Open. Driver packages call it from init.
func Register(driver string, open OpenFunc) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[driver] = open
}

// Open opens a lakehouse with a registered driver ("local", ...).
func Open(ctx context.Context, driver, location string) (Lakehouse, error) {
	driversMu.Lock()
	open, ok := drivers[driver]
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	driversMu.Unlock()
	if !ok {
		sort.Strings(names)
		return nil, Invalidf("unknown lakehouse driver %q (available: %s)", driver, strings.Join(names, ", "))
	}
	return open(ctx, location)
}
