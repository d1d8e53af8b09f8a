// Package serve is the revertwatch daemon: HTTP ingest of CloudTrail and
// Azure Activity Log bodies, health and Prometheus metrics, live detection
// with checkpoints, and findings out through sinks.
//
// Alone, a Server keeps everything in a bbolt file under its state
// directory (package live/store): a request is answered 202 only once its
// events are in the journal, on disk; one goroutine feeds the journal to
// the detection (package live) and writes the checkpoint, the journal
// position it covers and the findings it made in one transaction, then
// hands the findings to the sinks. A crash at any point replays the
// journal from the last checkpoint and makes the same findings, none of
// which had left.
//
// With NATS (package live/cluster) the journal is a JetStream stream,
// partitioned by provider and account, and several Servers share the
// partitions; see that package.
package serve
