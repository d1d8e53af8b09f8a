package sink

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/revertwatch/revertwatch/finding"
)

// FindingSubjectPrefix is where findings are published: the prefix, then
// the rule id.
const FindingSubjectPrefix = "revertwatch.findings."

// NATS publishes each finding to revertwatch.findings.<rule>. With a
// JetStream context the publish waits for the stream's acknowledgement and
// carries a Nats-Msg-Id (MsgID), so that the stream drops a repeat inside
// its duplicate window; otherwise it is a core NATS publish, flushed.
type NATS struct {
	nc *nats.Conn
	js jetstream.JetStream
	r  Render
}

// NewNATS returns a sink publishing on nc; js may be nil.
func NewNATS(nc *nats.Conn, js jetstream.JetStream, r Render) *NATS {
	return &NATS{nc: nc, js: js, r: r}
}

// MsgID is the JetStream de-duplication id of a finding: its id and its
// first event time, so that a replay of the same occurrence is dropped
// and a later recurrence of the same revert is not.
func MsgID(f *finding.Finding) string {
	return f.ID + "@" + strconv.FormatInt(f.FirstSeen.UnixMilli(), 10)
}

// Subject is the subject a finding is published on.
func Subject(f *finding.Finding) string { return FindingSubjectPrefix + Token(f.RuleID) }

// Token makes s safe as one subject token: dots, wildcards and white
// space become '_', and an empty string "unknown".
func Token(s string) string {
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// Name implements Sink.
func (n *NATS) Name() string { return "nats " + FindingSubjectPrefix + "*" }

// Deliver implements Sink.
func (n *NATS) Deliver(ctx context.Context, fs []finding.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	if n.js == nil {
		for i := range fs {
			b, err := n.r.JSON(&fs[i])
			if err != nil {
				return err
			}
			if err := n.nc.Publish(Subject(&fs[i]), b); err != nil {
				return fmt.Errorf("%s: %w", n.Name(), err)
			}
		}
		if err := n.nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", n.Name(), err)
		}
		return nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(fs))
	for i := range fs {
		b, err := n.r.JSON(&fs[i])
		if err != nil {
			return err
		}
		fut, err := n.js.PublishAsync(Subject(&fs[i]), b, jetstream.WithMsgID(MsgID(&fs[i])))
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name(), err)
		}
		futures = append(futures, fut)
	}
	for _, fut := range futures {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			return fmt.Errorf("%s: %w", n.Name(), err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close implements Sink; the connection belongs to the caller.
func (n *NATS) Close() error { return nil }
