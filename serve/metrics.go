package serve

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/sequence"
)

// Metrics are the daemon's Prometheus metrics, on a registry of its own.
type Metrics struct {
	Registry *prometheus.Registry

	Requests        *prometheus.CounterVec // by HTTP status code
	EventsIn        *prometheus.CounterVec // accepted, by source and format
	EventsProcessed *prometheus.CounterVec // through the detection, by provider
	Rejects         *prometheus.CounterVec // by reason
	Findings        *prometheus.CounterVec // by rule and fate
	Late            prometheus.Counter     // events beyond the allowed lateness
	StateBytes      prometheus.Gauge       // bbolt file or last checkpoint size
	QueueDepth      prometheus.Gauge       // accepted events not yet checkpointed
	Lag             prometheus.Gauge       // seconds from acceptance to processing, last batch
	EventTimeLag    prometheus.Gauge       // seconds between now and the newest event time
	Latency         prometheus.Histogram   // seconds from acceptance to delivery of a finding
	Checkpoints     prometheus.Histogram   // seconds per checkpoint write
	SinkErrors      *prometheus.CounterVec // by sink
	DeadLetters     prometheus.Counter     // webhook findings given up on
	Partitions      prometheus.Gauge       // partitions owned (NATS)
	Redelivered     prometheus.Counter     // JetStream redeliveries skipped
	Ready           prometheus.Gauge       // 1 when ready

	// What the event-time core did with late events and its history.
	Replays      prometheus.Counter // replays of a scope's history with late events in place
	TooLate      prometheus.Counter // late events beyond the horizon: single-event rules only
	Unlogged     prometheus.Counter // Azure operations counted done without a logged outcome
	HistEvicted  prometheus.Counter // kept events forgotten early because of the cap
	History      prometheus.Gauge   // events kept for replays
	LateWaiting  prometheus.Gauge   // late events waiting for their replay
	mu           sync.Mutex
	engineByProc map[string]sequence.Stats
	backlog      func() []live.SinkBacklog
}

// SetBacklog gives the metrics what each sink owes, read at every scrape
// as revertwatch_sink_backlog_findings and
// revertwatch_sink_backlog_oldest_seconds, by sink.
func (m *Metrics) SetBacklog(f func() []live.SinkBacklog) {
	m.mu.Lock()
	m.backlog = f
	m.mu.Unlock()
}

var (
	backlogDesc = prometheus.NewDesc("revertwatch_sink_backlog_findings",
		"Findings checkpointed that a sink has not taken yet (durable: they survive restarts).", []string{"sink"}, nil)
	backlogAgeDesc = prometheus.NewDesc("revertwatch_sink_backlog_oldest_seconds",
		"How long the oldest finding a sink owes has waited for it.", []string{"sink"}, nil)
)

// backlogCollector reads the sinks' backlog at scrape time.
type backlogCollector struct{ m *Metrics }

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- backlogAgeDesc
}

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	f := c.m.backlog
	c.m.mu.Unlock()
	if f == nil {
		return
	}
	for _, b := range f() {
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(b.Findings), b.Sink)
		ch <- prometheus.MustNewConstMetric(backlogAgeDesc, prometheus.GaugeValue, b.Oldest.Seconds(), b.Sink)
	}
}

// ObserveEngine takes a processor's engine counters (proc names it: one
// per partition) and moves the metrics by what changed since its last
// ones; a processor restored from an older checkpoint never moves a
// counter back.
func (m *Metrics) ObserveEngine(proc string, s sequence.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.engineByProc[proc]
	add := func(c prometheus.Counter, now, before uint64) {
		if now > before {
			c.Add(float64(now - before))
		}
	}
	add(m.Replays, s.Replays, prev.Replays)
	add(m.TooLate, s.TooLate, prev.TooLate)
	add(m.Unlogged, s.Unlogged, prev.Unlogged)
	add(m.HistEvicted, s.EvictedHistory, prev.EvictedHistory)
	m.engineByProc[proc] = s
	var hist, waiting int
	for _, x := range m.engineByProc {
		hist += x.History
		waiting += x.LateWaiting
	}
	m.History.Set(float64(hist))
	m.LateWaiting.Set(float64(waiting))
}

// NewMetrics registers the metrics on a new registry, with the Go runtime
// and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: r, engineByProc: map[string]sequence.Stats{}}
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "revertwatch_http_requests_total", Help: "Ingest requests by HTTP status code."}, []string{"code"})
	m.EventsIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "revertwatch_events_in_total", Help: "Events accepted, by intake (http, nats) and record format."}, []string{"source", "format"})
	m.EventsProcessed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "revertwatch_events_out_total", Help: "Events through the detection, by provider."}, []string{"provider"})
	m.Rejects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "revertwatch_rejects_total", Help: "Requests and records rejected, by reason."}, []string{"reason"})
	m.Findings = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "revertwatch_findings_total", Help: "Findings made, by rule and fate (emitted, suppressed, repeat, dropped)."}, []string{"rule", "fate"})
	m.Late = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_late_events_total", Help: "Relevant events that arrived beyond the allowed lateness."})
	m.StateBytes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_state_bytes", Help: "Size of the state: the bbolt file, or the checkpoints written to JetStream."})
	m.QueueDepth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_queue_depth", Help: "Accepted events not yet covered by a checkpoint."})
	m.Lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_lag_seconds", Help: "Time from acceptance to processing of the last batch."})
	m.EventTimeLag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_event_time_lag_seconds", Help: "Wall clock minus the newest event time processed."})
	m.Latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "revertwatch_ingest_to_finding_seconds", Help: "Time from acceptance of the completing event to delivery of the finding.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	m.Checkpoints = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "revertwatch_checkpoint_seconds", Help: "Time to write one checkpoint.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.SinkErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "revertwatch_sink_errors_total", Help: "Failed deliveries, by sink."}, []string{"sink"})
	m.DeadLetters = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_dead_letters_total", Help: "Findings the webhook gave up on, written to the dead-letter file."})
	m.Partitions = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_partitions_owned", Help: "Event partitions this replica owns (NATS)."})
	m.Redelivered = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_redelivered_skipped_total", Help: "JetStream redeliveries of events already checkpointed, skipped."})
	m.Ready = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_ready", Help: "1 when the daemon accepts input."})
	m.Replays = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_late_replays_total", Help: "Replays of a scope's kept events with late events in their places."})
	m.TooLate = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_too_late_events_total", Help: "Late events beyond the horizon: single-event rules only, no sequence."})
	m.Unlogged = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_unlogged_operations_total", Help: "Azure operations counted done although their outcome was never logged."})
	m.HistEvicted = prometheus.NewCounter(prometheus.CounterOpts{Name: "revertwatch_history_evicted_total", Help: "Kept events forgotten before the horizon because of the cap (oldest first)."})
	m.History = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_history_events", Help: "Relevant events kept for the replay of late events."})
	m.LateWaiting = prometheus.NewGauge(prometheus.GaugeOpts{Name: "revertwatch_late_waiting_events", Help: "Late events waiting for their replay."})
	for _, c := range []prometheus.Collector{m.Requests, m.EventsIn, m.EventsProcessed, m.Rejects, m.Findings, m.Late, m.StateBytes,
		m.QueueDepth, m.Lag, m.EventTimeLag, m.Latency, m.Checkpoints, m.SinkErrors, m.DeadLetters, m.Partitions, m.Redelivered, m.Ready,
		m.Replays, m.TooLate, m.Unlogged, m.HistEvicted, m.History, m.LateWaiting, backlogCollector{m}} {
		f(c)
	}
	return m
}
