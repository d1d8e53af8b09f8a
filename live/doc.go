// Package live runs detection continuously and makes it restartable: a
// Processor wraps the detection pipeline (package detect), the repeat
// window of finding ids (tune.Suppressor) and an outbox of findings made
// but not yet delivered, and saves all three as one Checkpoint.
//
// A Loop runs a Processor over an Input (followed files, serve's journal,
// a JetStream partition) with its checkpoints in a Store (bbolt, or the
// JetStream object store and KV), and keeps, once for all of them, the
// three rules exactly-once rests on (the first is the Input's promise):
//
//  1. Input is durable before it is processed: a file that is followed, a
//     journal entry written before an HTTP 202, a JetStream message.
//  2. The Checkpoint and the position in the input it covers are written
//     together, in one transaction: a crash before the write replays the
//     input from the previous position into the previous state, which is
//     deterministic, so the same findings come out again — none of them
//     has left yet.
//  3. Findings leave (Outbox) only after the checkpoint that holds them is
//     written; they carry stable ids, and a sink that can tell what it
//     already has (a file, a JetStream stream with Nats-Msg-Id) skips
//     repeats after a crash between delivery and the next write.
//
// Each sink takes the outbox on its own goroutine, with backoff after a
// failure, so that a sink that fails or hangs holds back neither the
// detection, nor the checkpoints, nor the other sinks. What each sink
// still owes (Debt) is part of every checkpoint and is written again, alone
// where the store can, as the sinks move: a finding leaves the outbox only
// when every sink has taken it (or dead-lettered it), across restarts and
// kill -9.
package live
