// Package source reads logs where they live: it resolves the PATH
// arguments of the reading commands (local files and s3:// URLs) into
// inputs for ingest, pruned by the time, account and region filters where
// the CloudTrail or Azure export layout allows, and opens remote objects
// as streams. The record filter that applies the same selection to every
// record is here too, so that pruning and filtering agree.
package source
