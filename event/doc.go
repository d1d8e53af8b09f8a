// Package event defines the normalized audit event that every revertwatch
// engine consumes, whatever cloud and delivery format it came from.
//
// The model follows OCSF API Activity (class 6003) for its core fields and
// adds typed join keys (instance, volume, snapshot, disk, ...) so that
// sequence logic never has to re-parse raw JSON. The raw record bytes are
// kept on every event, and the seed query's field names (operationName,
// caller, resourceGroup, _sourceHost, _sourceCategory) resolve for every
// input through Event.Alias.
package event
