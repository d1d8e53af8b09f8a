// Package cluster runs live detection as one replica of a group sharing a
// NATS JetStream server (or cluster), so that several processes split the
// work and any of them may die.
//
// Events are published to the stream REVERTWATCH_EVENTS on
// revertwatch.events.<provider>.<account>, the events of one subject and
// one request together in a message; the stream's subject transform
// appends a partition token computed from provider and account
// (partition(N,1,2)), so every event of an account lands in the same one
// of N partitions, and a sequence's steps meet in one engine. A server
// older than 2.10 has no subject transforms: there the publisher appends
// the partition itself.
//
// Each partition has a durable pull consumer — whose priority group pins
// it to one client at a time, from nats-server 2.11 on — and a lease in
// the KV bucket revertwatch-leases.
// Replicas announce themselves in revertwatch-members (entries expire) and
// assign partitions by rendezvous hashing over the live members: a new
// replica takes its share, a dead one's partitions move once its lease
// expires.
//
// A partition's state — engine snapshot, repeat windows, outbox, and the
// stream sequences of the last batch — is written to the object store
// revertwatch-checkpoints, and the KV entry that points at it is updated
// with compare-and-set on its revision: a replica that lost its lease
// cannot overwrite its successor's state. Events are acknowledged only
// after that write; a redelivered event is dropped by stream sequence (the
// last batch) or by event id (the engine remembers ids for its window).
// Findings are published after the write to revertwatch.findings.<rule>
// with a Nats-Msg-Id of finding id and first event time, so that the
// stream drops the copy a successor publishes again from the outbox.
package cluster
