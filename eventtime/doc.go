// Package eventtime is what revertwatch's rule engines share about event
// time: the scope an event's keys are unique in, the one total order of
// events that does not depend on their arrival, the identity of the call
// behind a record (the same in every export shape and re-delivery), the
// de-duplication of records, and the Sorter that puts logs at rest into
// that order within a memory budget, spilling sorted runs to disk.
//
// The sequence engine (package sequence) and the Sigma correlation runner
// (package sigma) both take their scopes, order and de-duplication from
// here, so that a record is the same record, and a scope the same scope,
// in both.
package eventtime
