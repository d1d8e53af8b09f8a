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
// A request is read whole before it takes one of the in-flight slots, so
// that a slow client holds none; it is then checked in one streaming pass
// that counts its events without keeping them (every gzip layer counted
// against the decoded cap), so that what a request holds is its body, not
// what the body expands to; the journal decodes the body again.
//
// On shutdown, /readyz fails and ingest answers 503 while the backend
// drains; the listener closes last. TLS material is read again by
// ReloadTLS (SIGHUP).
//
// With NATS (package live/cluster) the journal is a JetStream stream,
// partitioned by provider and account, and several Servers share the
// partitions; see that package.
package serve
