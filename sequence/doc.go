// Package sequence is revertwatch's event-time correlation engine.
//
// Rules are data: an ordered list of steps, each matching an operation
// (case-insensitively) and conditions on the event's typed join keys, and
// binding keys so that an id produced by one step's response (a new volume,
// a new image) must reappear in a later step's request (the volume
// attached, the image launched). What Sigma calls aliases is a binding
// name shared by steps that read it from different fields.
//
// The engine orders events by event time, not arrival: relevant events wait
// in a buffer until the watermark (the latest event time seen minus the
// allowed lateness) passes them. An event older than the watermark is
// counted and reported, never silently dropped; single-event rules still
// fire on it. Each rule has a window measured from its first step.
// Duplicates (same event id, or a CloudTrail re-delivery naming the
// original id) are dropped, the Start/Accept/Success records of one Azure
// operation collapse into one step that advances only on success, and
// failed or dry-run calls never advance a sequence. Keys are scoped by
// provider, account and region, so steps of different scopes never join.
//
// State is bounded by caps that count what they evict, and can be
// snapshotted and restored byte for byte.
package sequence
