package emulate

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Order is the order records reach a reader in: inside each file (the
// records of a Records list, an Event Hub batch, a REST value list, the
// lines of a file) and across the files of one directory as a walk reads
// them (lexical order).
//
// Real corpora come in every order: S3 and Storage deliveries oldest
// first, `aws cloudtrail lookup-events` and `az monitor activity-log
// list` newest first (and paged that way), diagnostic exports merged or
// re-sorted by hand in no order at all. A detector that is right for one
// order only is wrong in practice, so the emulation writes all three.
type Order string

// The orders.
const (
	// OrderOldestFirst is each shape as its source writes it: S3 files
	// per delivery window with their records by time, Storage blobs and
	// Event Hub batches in arrival order, lines in delivery order. The
	// REST list stays newest first, as the API returns it. This is the
	// default, and the output of every release before orders existed.
	OrderOldestFirst Order = "oldest-first"
	// OrderNewestFirst puts the newest record first in every file and
	// the file with the newest records first in walk order: the records
	// of a directory are redistributed over its files (names and record
	// counts kept), so reading the files in lexical order yields event
	// times that never increase, as a paged newest-first export does.
	OrderNewestFirst Order = "newest-first"
	// OrderShuffled redistributes the records of a directory over its
	// files at random, from the seed, in random order inside each file.
	OrderShuffled Order = "shuffled"
)

// Orders lists every order, the default first.
func Orders() []Order { return []Order{OrderOldestFirst, OrderNewestFirst, OrderShuffled} }

// ParseOrder checks an order name; "" is the default (oldest-first).
func ParseOrder(s string) (Order, error) {
	if s == "" {
		return OrderOldestFirst, nil
	}
	for _, o := range Orders() {
		if strings.EqualFold(s, string(o)) {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown order %q (want oldest-first, newest-first or shuffled)", s)
}

// orderOf normalizes an Options.Order ("" is oldest-first).
func orderOf(o Order) Order {
	if o == "" {
		return OrderOldestFirst
	}
	return o
}

// Day is 24 hours: spans are counted in days.
const Day = 24 * time.Hour

// MaxSpan is the longest span the emulation writes: 90 days, the history
// CloudTrail LookupEvents and the Azure Activity Log keep, and so the
// longest newest-first export a responder can pull.
const MaxSpan = 90 * Day

// ParseSpan reads a span: a Go duration (2160h) or days (90d, 1d12h). It
// must be a whole number of days, from one day to MaxSpan, because
// scenarios are placed on days (the first day and the last among them).
func ParseSpan(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	rest := in
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad span %q: want a duration such as 90d, 30d or 2160h", in)
		}
		if n > 90 {
			return 0, fmt.Errorf("span %q is longer than 90 days, the most CloudTrail and the Activity Log keep", in)
		}
		days = time.Duration(n) * Day
		rest = rest[i+1:]
	}
	var v time.Duration
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("bad span %q: want a duration such as 90d, 30d or 2160h", in)
		}
		v = d
	}
	v += days
	if v < Day {
		return 0, fmt.Errorf("span %q: a span is at least one day", in)
	}
	if err := CheckSpan(v); err != nil {
		return 0, fmt.Errorf("span %q: %w", in, err)
	}
	return v, nil
}

// CheckSpan reports whether a span is usable: 0 (one day, the default) or
// a whole number of days up to MaxSpan.
func CheckSpan(v time.Duration) error {
	switch {
	case v < 0:
		return fmt.Errorf("a span cannot be negative")
	case v > MaxSpan:
		return fmt.Errorf("%s is longer than 90 days, the most CloudTrail and the Activity Log keep", formatSpan(v))
	case v%Day != 0:
		return fmt.Errorf("%s is not a whole number of days", v)
	}
	return nil
}

// formatSpan writes a span in days (90d), the way it is given.
func formatSpan(v time.Duration) string {
	if v%Day == 0 {
		return strconv.FormatInt(int64(v/Day), 10) + "d"
	}
	return v.String()
}

// record is one record of a file before the file is encoded: its bytes
// and its event time (what newest-first sorts on).
type record struct {
	data []byte
	time time.Time
}

// wrapping is how a file holds its records.
type wrapping int

const (
	wrapS3       wrapping = iota // {"Records":[...]} gzip-compressed
	wrapLines                    // one record a line
	wrapEventHub                 // {"records":[...]} and a newline
	wrapREST                     // {"value":[...]} and a newline
	wrapLA                       // a JSON array, one row a line
	wrapArray                    // a JSON array, as gcloud writes it
	wrapEntries                  // {"entries":[...]} of the Logging API
)

// plan is one output file before it is encoded: the order of its records
// can still change.
type plan struct {
	path string
	wrap wrapping
	recs []record
}

// encode writes a plan's file.
func (p *plan) encode() File {
	var b []byte
	switch p.wrap {
	case wrapS3:
		b = []byte(`{"Records":[`)
		for i, r := range p.recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r.data...)
		}
		b = append(b, "]}"...)
		return File{p.path, gzipBytes(b)}
	case wrapLines:
		for _, r := range p.recs {
			b = append(b, r.data...)
			b = append(b, '\n')
		}
	case wrapEventHub:
		b = []byte(`{"records":[`)
		for i, r := range p.recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r.data...)
		}
		b = append(b, "]}\n"...)
	case wrapREST:
		b = []byte(`{"value":[`)
		for i, r := range p.recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r.data...)
		}
		b = append(b, "]}\n"...)
	case wrapArray:
		b = []byte("[")
		for i, r := range p.recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n  "...)
			b = append(b, r.data...)
		}
		b = append(b, "\n]\n"...)
	case wrapEntries:
		b = []byte(`{"entries":[`)
		for i, r := range p.recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r.data...)
		}
		b = append(b, `],"nextPageToken":""}`+"\n"...)
	case wrapLA:
		b = []byte("[")
		for i, r := range p.recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '\n')
			b = append(b, r.data...)
		}
		b = append(b, "\n]\n"...)
	}
	return File{p.path, b}
}

// arrange puts the records of one directory's files (one scenario or the
// background, in one shape) in the order asked for, and encodes the files
// in walk (lexical) order. Oldest-first leaves every file as its writer
// made it. The other orders keep the file names and the number of records
// in each file but redistribute the records over them: a directory walk
// reads the files in name order whatever their names say about time, and
// the order it then sees is what the detector must not depend on.
func arrange(plans []plan, order Order, seed int64, unit string) []File {
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].path < plans[j].path })
	if o := orderOf(order); o != OrderOldestFirst {
		var all []record
		for _, p := range plans {
			all = append(all, p.recs...)
		}
		switch o {
		case OrderNewestFirst:
			// Stable, so that records of the same time keep their
			// delivery order (the duplicate after its original).
			sort.SliceStable(all, func(i, j int) bool { return all[i].time.After(all[j].time) })
		case OrderShuffled:
			r := orderRand(seed, unit)
			r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		}
		k := 0
		for i := range plans {
			n := len(plans[i].recs)
			plans[i].recs = all[k : k+n : k+n]
			k += n
		}
	}
	files := make([]File, len(plans))
	for i := range plans {
		files[i] = plans[i].encode()
	}
	return files
}

// orderRand is the random source of the shuffled order of one directory:
// from the seed and the directory, so that one scenario's arrangement does
// not depend on which others are written.
func orderRand(seed int64, unit string) *rand.Rand {
	sum := idSource{seed: uint64(seed), scope: "order"}.sum(unit)
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
}
