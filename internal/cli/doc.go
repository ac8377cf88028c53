// Package cli holds Lakeport's commands. It parses flags, calls the packages
// that do the work and prints their results; it holds no business logic.
//
// Invariants: a failing command prints one clear line to stderr (never a stack
// trace) and exits non-zero; secrets are never printed.
package cli
