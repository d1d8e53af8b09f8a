package detect

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/sigma"
	"github.com/revertwatch/revertwatch/tune"
)

// folds gathers, at rest, the records a single-record Sigma rule
// matches into one finding per rule, scope, caller, tuning decision and
// repeat window of event time, as a SIEM suppresses the repeats of one
// signal on one entity: SigmaHQ's AssumeRole misuse matches nearly
// every assumed-role call, and a million findings of it tell an
// analyst less than one per role and day with the count. The windows
// are aligned to the Unix epoch (UTC days for the default 24 hours),
// not opened by a first hit, and a fold's samples are its first and
// last records in event-time order, so that the findings are the same
// for any order of records and files. Copies of one record count once.
//
// The folds are held in memory up to the memory budget, then spilled to
// runs sorted by key (foldspill.go); a fold's parts in several runs merge
// exactly (the hashes concatenate, the first and last samples compare).
type folds struct {
	window time.Duration
	seed   maphash.Seed
	budget int64
	dir    string

	mu   sync.Mutex
	byID map[foldKey]*fold
	// size is what byID holds, roughly, in bytes (foldSize).
	size int64
	// rules numbers the rules of the folds, for the runs.
	rules map[*sigma.Rule]int
	order []*sigma.Rule
	runs  []*os.File
	err   error
}

// foldKey is what the hits of one fold share.
type foldKey struct {
	rule   *sigma.Rule
	scope  eventtime.Scope
	caller string
	bucket int64
	// dec is the tuning decision, as a string: every hit of a fold was
	// tuned alike, so the fold's finding is tuned as each of them was.
	dec string
}

// fold is the state of one fold.
type fold struct {
	// records holds a hash of each hit's record: its identity and, for
	// the phases of an Azure operation, which record (see spool.add).
	// Copies of one record hash alike; the distinct hashes are the hits
	// (8 bytes a hit, where a set would take some 40).
	records     []uint64
	first, last foldSample
}

// foldSample is a record a fold keeps as evidence.
type foldSample struct {
	ev               *event.Event
	identity, record string
	// own is set once ev has storage of its own (eventtime.Detach);
	// until then it is the event of the batch being folded.
	own bool
}

// foldHit is one hit as a worker prepares it, before the lock.
type foldHit struct {
	key    foldKey
	sample foldSample
}

func newFolds(window time.Duration, budget int64, dir string) *folds {
	return &folds{window: window, seed: maphash.MakeSeed(), budget: budget, dir: dir, byID: map[foldKey]*fold{}, rules: map[*sigma.Rule]int{}}
}

// prepare works out, without the lock, what fold a hit of rule on ev
// goes to. memo is the calling goroutine's.
func (fs *folds) prepare(memo *tune.Memo, rule *sigma.Rule, ev *event.Event) foldHit {
	// The decision ApplyUncounted would take on the one-record finding:
	// it reads the rule and the record only.
	_, dec := memo.Decide(rule.Ref(), ev)
	k := foldKey{rule: rule, scope: eventtime.ScopeOf(ev), caller: ev.Caller, bucket: floorDiv(ev.Time.UnixNano(), int64(fs.window)), dec: dec}
	s := foldSample{ev: ev, identity: eventtime.Identity(ev)}
	if event.Phased(ev.Provider) && ev.CorrelationUID != "" {
		s.record = cmp.Or(ev.OriginalUID, ev.UID)
	}
	return foldHit{key: k, sample: s}
}

// add folds a worker's batch of hits. The events are the batch's: the
// samples that are still theirs when the batch is done get storage of
// their own.
func (fs *folds) add(hits []foldHit) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.err != nil {
		return // the output will be this error
	}
	var touched []*fold
	for i := range hits {
		h := &hits[i]
		f, fresh := fs.byID[h.key], false
		if f == nil {
			fresh = true
			k := h.key
			k.scope = eventtime.Scope{Provider: strings.Clone(k.scope.Provider), Account: strings.Clone(k.scope.Account), Region: strings.Clone(k.scope.Region)}
			k.caller = strings.Clone(k.caller)
			f = &fold{first: h.sample, last: h.sample}
			fs.byID[k] = f
			fs.size += keySize(k)
			if _, ok := fs.rules[k.rule]; !ok {
				fs.rules[k.rule] = len(fs.order)
				fs.order = append(fs.order, k.rule)
			}
		}
		var mh maphash.Hash
		mh.SetSeed(fs.seed)
		mh.WriteString(h.sample.identity)
		mh.WriteByte(0)
		mh.WriteString(h.sample.record)
		f.records = append(f.records, mh.Sum64())
		fs.size += 8
		if fresh || fs.keep(f, h.sample) {
			touched = append(touched, f)
		}
	}
	for _, f := range touched {
		fs.own(&f.first)
		fs.own(&f.last)
	}
	if fs.size > fs.budget {
		fs.spill()
	}
}

// keep makes s the fold's first or last record if it is one, and
// reports whether a sample of f is not yet its own.
func (fs *folds) keep(f *fold, s foldSample) bool {
	// The first record and the last; of copies of one, the copy that
	// sorts first.
	if c := compareRecords(&s, &f.first); c < 0 || c == 0 && copyKey(s.ev) < copyKey(f.first.ev) {
		fs.drop(&f.first)
		f.first = s
	}
	if c := compareRecords(&s, &f.last); c > 0 || c == 0 && copyKey(s.ev) < copyKey(f.last.ev) {
		fs.drop(&f.last)
		f.last = s
	}
	return !f.first.own || !f.last.own
}

// drop uncounts a sample about to be replaced.
func (fs *folds) drop(s *foldSample) {
	if s.own {
		fs.size -= sampleSize(s.ev)
	}
}

// own gives a sample's event storage of its own, counted.
func (fs *folds) own(s *foldSample) {
	if !s.own {
		own(s)
		fs.size += sampleSize(s.ev)
	}
}

// sampleSize is about what a sample's event holds: its record and the
// rest.
func sampleSize(ev *event.Event) int64 { return int64(len(ev.Raw)) + 1024 }

// keySize is about what a new fold and its key take.
func keySize(k foldKey) int64 {
	return int64(len(k.scope.Provider)+len(k.scope.Account)+len(k.scope.Region)+len(k.caller)+len(k.dec)) + 256
}

// own gives a sample's event storage of its own.
func own(s *foldSample) {
	if s.own {
		return
	}
	c := *s.ev
	eventtime.Detach(&c)
	s.ev, s.own = &c, true
	s.identity, s.record = strings.Clone(s.identity), strings.Clone(s.record)
}

// compareRecords orders a fold's records as the output orders their
// findings: event time, then the record. Copies of one record compare
// equal; of them, the fold keeps the one the event-time core would
// (copyKey's first), whichever is read first.
func compareRecords(a, b *foldSample) int {
	if c := a.ev.Time.Compare(b.ev.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.identity, b.identity); c != 0 {
		return c
	}
	return cmp.Compare(a.record, b.record)
}

// sameRecord reports whether two samples are copies of one record.
func sameRecord(a, b *foldSample) bool { return compareRecords(a, b) == 0 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// each calls fn with every fold's finding, made from its first record
// as that record's own finding would be, then widened to the fold, and
// the tuning decision it shares with every hit it folds.
func (fs *folds) each(conf *tune.Config, fn func(f *finding.Finding, dec tune.Decision, ev *event.Event)) error {
	emit := func(k foldKey, fo *fold) {
		slices.Sort(fo.records)
		hits := len(slices.Compact(fo.records))
		fo.records = nil
		ev := fo.first.ev
		f := FromHit(&sigma.Hit{Rule: k.rule, Events: []sigma.HitEvent{{Rule: k.rule.Ref(), Event: ev}}, First: ev.Time, Last: ev.Time})
		dec := conf.ApplyUncounted(&f, []*event.Event{ev})
		fixConfidence(&f)
		// The folds of one caller in other windows are the repeats of
		// this one; those of other callers are not.
		f.GroupID = finding.StableID(k.rule.Ref(), k.scope.Provider, k.scope.Account, k.scope.Region, "caller="+k.caller)
		if hits > 1 {
			fs.widen(&f, k, fo, hits)
		}
		fn(&f, dec, ev)
	}
	if len(fs.runs) == 0 && fs.err == nil {
		for k, fo := range fs.byID {
			emit(k, fo)
		}
		return nil
	}
	if len(fs.byID) > 0 {
		fs.spill()
	}
	if fs.err != nil {
		return fs.err
	}
	return fs.merge(emit)
}

// widen makes a fold's finding of its first record's: its own id, the
// span to the last record, that record as a second evidence, and the
// count.
func (fs *folds) widen(f *finding.Finding, k foldKey, fo *fold, hits int) {
	start := time.Unix(0, k.bucket*int64(fs.window)).UTC()
	f.ID = finding.StableID(k.rule.Ref(), "fold", k.scope.Provider, k.scope.Account, k.scope.Region, k.caller, start.Format(time.RFC3339Nano), fs.window.String(), k.dec)
	f.Hits = hits
	last := fo.last.ev
	if !sameRecord(&fo.first, &fo.last) {
		f.LastSeen = last.Time
		f.Evidence = append(f.Evidence, finding.NewEvidence(k.rule.Ref(), last))
		f.Actor.AddContext(last)
		for _, r := range last.Resources {
			if !hasResource(f.Resources, r) {
				f.Resources = append(f.Resources, r)
			}
		}
	}
	caller := k.caller
	if caller == "" {
		caller = "an unnamed caller"
	}
	f.Reasons = append(f.Reasons, fmt.Sprintf("%d records matched, by %s, from %s to %s: folded into one finding per %s of event time (the repeat window, from %s); the evidence is the first and the last (hunt --each-hit reports every record)",
		hits, caller, f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339), fs.window, start.Format(time.RFC3339)))
}
