package eventtime

import "time"

// Queue is a FIFO of keys with event times, used to forget state in the
// order it was made.
type Queue = queue

// Queued is one entry of a Queue.
type Queued = queued

type queue struct {
	items []queued
	head  int
}

type queued struct {
	key string
	t   time.Time
}

// Key is the entry's key.
func (q queued) Key() string { return q.key }

// Time is the entry's event time.
func (q queued) Time() time.Time { return q.t }

// Len is the number of entries.
func (q *queue) Len() int { return q.len() }

// Push appends an entry.
func (q *queue) Push(key string, t time.Time) { q.push(key, t) }

// Live returns the entries not yet popped.
func (q *queue) Live() []queued { return q.live() }

func (q *queue) len() int      { return len(q.items) - q.head }
func (q *queue) front() queued { return q.items[q.head] }
func (q *queue) push(key string, t time.Time) {
	q.items = append(q.items, queued{key, t})
}

func (q *queue) live() []queued { return q.items[q.head:] }

func (q *queue) pop() {
	q.items[q.head] = queued{}
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0:0], q.items[q.head:]...)
		q.head = 0
	}
}

// Trim forgets a scope's queued state older than cutoff, then, while over
// reports a cap is exceeded, the oldest state of the scope (or of the
// scope holding the oldest, when this one has none). drop is told whether
// the cap forced it.
func Trim[S any](sc S, cutoff time.Time, scopes func() []S, get func(S) *Queue, over func() bool, drop func(q Queued, forced bool)) {
	for q := get(sc); q.len() > 0 && q.front().t.Before(cutoff); {
		it := q.front()
		q.pop()
		drop(it, false)
	}
	for over() {
		q := get(sc)
		if q.len() == 0 {
			var best *queue
			for _, s := range scopes() {
				if o := get(s); o.len() > 0 && (best == nil || o.front().t.Before(best.front().t)) {
					best = o
				}
			}
			if best == nil {
				return
			}
			q = best
		}
		it := q.front()
		q.pop()
		drop(it, true)
	}
}
