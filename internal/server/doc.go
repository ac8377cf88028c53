// Package server holds Lakeport's HTTP handlers. Today: the collect
// endpoint, POST /api/v1/collect/{stream}, which appends events to a
// platform stream.
//
// Invariants:
//   - A request is all or nothing: the body is read whole (up to the
//     configured limit; larger bodies get 413 before anything is parsed),
//     every line is validated, and the events are appended in one
//     platform write. A malformed line fails the request with its line
//     number and nothing is stored.
//   - 200 means durably stored (the write committed).
//   - Responses are JSON. Errors carry a class code (invalid_input,
//     not_found, conflict, too_large, unsupported_media_type, internal) and
//     a message naming the line or field; internal errors are logged, not
//     returned, so database details and secrets never reach a client.
package server
