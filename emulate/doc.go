// Package emulate writes the telemetry of attack, benign and near-miss
// scenarios for T1578.004, Revert Cloud Instance, as AWS CloudTrail and
// Azure Activity Log records in every delivery shape revertwatch reads, with
// the ground truth beside it (truth.json).
//
// Scenarios are data (Catalog): ordered API calls on symbolic resources.
// Rendering turns a call into the records the provider would write, shaped
// as telemetry.md describes: CloudTrail request and response members of the
// legacy and wrapper EC2 families, RDS and AWS Backup members, delivery into
// S3 files under the real key layout with late and duplicated records;
// Azure Start, Accept and Success records of one operation sharing a
// correlation id, with bodies as JSON strings, in the REST, Event Hub,
// Storage and Log Analytics shapes.
//
// Everything is deterministic for a seed: ids, times, background noise and
// the gzip streams (fixed header). Background noise and the --scale
// benchmark corpus come from byte templates (noise.go) so that a million
// events take seconds, not minutes.
package emulate
