// Package store keeps the state of a live revertwatch (watch, or serve
// without NATS) in one bbolt file under the state directory: the journal
// of accepted input not yet processed, the processor's checkpoint and the
// position it covers, the outbox of findings not yet delivered, and the
// follower's file positions. Every write is one transaction, fsynced
// before it returns.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the bbolt file in the state directory.
const FileName = "revertwatch.db"

var (
	bucketJournal = []byte("journal")
	bucketMeta    = []byte("meta")

	keyCheckpoint = []byte("checkpoint")
	keyApplied    = []byte("applied")
	keyOutbox     = []byte("outbox")
	keyFiles      = []byte("files")
)

// ErrLocked is returned by Open when another process holds the state.
var ErrLocked = errors.New("state directory is in use by another revertwatch process")

// Store is an open state directory. Its methods are safe for concurrent
// use.
type Store struct {
	db   *bolt.DB
	path string

	mu        sync.Mutex
	pending   map[uint64]int // journal entries not yet applied: events per entry
	pendingEv atomic.Int64
}

// ErrUnreadable is returned by Open when the state file exists but is
// empty or cannot be read: starting fresh would silently read every input
// again and forget the findings not yet delivered, so it takes Reset.
var ErrUnreadable = errors.New("state file is empty or unreadable (Reset, --reset-state, moves it aside and starts with no state)")

// Options configure Open.
type Options struct {
	// Reset moves a state file that is empty or unreadable aside (to
	// FileName.unreadable-<unix time>) and starts with no state. A state
	// file that reads is never touched.
	Reset bool
}

// Open opens (creating if needed) the state in dir.
func Open(dir string, opts ...Options) (*Store, error) {
	var opt Options
	for _, o := range opts {
		opt = o
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := openBolt(path, opt)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, pending: map[uint64]int{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJournal, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
			n, _ := entryCount(v)
			s.pending[binary.BigEndian.Uint64(k)] = n
			s.pendingEv.Add(int64(n))
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	return s, nil
}

// openBolt opens the bbolt file; bbolt itself would initialise a file of
// zero bytes as a new database, losing the state without a word.
func openBolt(path string, opt Options) (*bolt.DB, error) {
	info, err := os.Stat(path)
	exists := err == nil
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	var cause error
	if exists && info.Size() == 0 {
		cause = fmt.Errorf("%s: %w: it has 0 bytes", path, ErrUnreadable)
	} else {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err == nil {
			return db, nil
		}
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		if !exists {
			return nil, fmt.Errorf("opening state %s: %w", path, err)
		}
		cause = fmt.Errorf("%s: %w: %v", path, ErrUnreadable, err)
	}
	if !opt.Reset {
		return nil, cause
	}
	aside := fmt.Sprintf("%s.unreadable-%d", path, time.Now().Unix())
	if err := os.Rename(path, aside); err != nil {
		return nil, fmt.Errorf("%w; moving it aside: %v", cause, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	return db, nil
}

// Path is the bbolt file.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Size is the size of the state file in bytes.
func (s *Store) Size() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// Entry is one journal entry: a sequence number and the data appended.
type Entry struct {
	Seq  uint64
	Data []byte
}

// entry values are a 4-byte event count, then the data.
func entryCount(v []byte) (int, []byte) {
	if len(v) < 4 {
		return 0, nil
	}
	return int(binary.BigEndian.Uint32(v)), v[4:]
}

// Append adds data, holding events events, to the journal and returns its
// sequence number once it is on disk. Concurrent appends share one
// transaction and one fsync.
func (s *Store) Append(data []byte, events int) (uint64, error) {
	var seq uint64
	err := s.put(data, events, func(b *bolt.Bucket) (uint64, error) {
		n, err := b.NextSequence()
		seq = n
		return n, err
	})
	return seq, err
}

// AppendAt adds data, holding events events, to the journal under seq,
// which the caller numbers (above LastSeq, each once), and returns once it
// is on disk. A caller that numbers its entries before they are written
// knows their order before their transactions commit; concurrent appends
// share one transaction and one fsync, and may commit out of order.
func (s *Store) AppendAt(seq uint64, data []byte, events int) error {
	return s.put(data, events, func(b *bolt.Bucket) (uint64, error) {
		if seq > b.Sequence() {
			// Kept level with the keys, so that Append numbers after them.
			if err := b.SetSequence(seq); err != nil {
				return 0, err
			}
		}
		return seq, nil
	})
}

// put writes one journal entry under the key number gives, in a shared
// transaction.
func (s *Store) put(data []byte, events int, number func(*bolt.Bucket) (uint64, error)) error {
	var seq uint64
	v := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(v, uint32(events))
	copy(v[4:], data)
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		n, err := number(b)
		if err != nil {
			return err
		}
		seq = n
		return b.Put(seqKey(n), v)
	})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	s.mu.Lock()
	s.pending[seq] = events
	s.mu.Unlock()
	s.pendingEv.Add(int64(events))
	return nil
}

// LastSeq is the highest sequence number the journal has used: its last
// entry's, or the last one a commit covered, or the last Append gave.
func (s *Store) LastSeq() (uint64, error) {
	var last uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		last = b.Sequence()
		if k, _ := b.Cursor().Last(); k != nil {
			last = max(last, binary.BigEndian.Uint64(k))
		}
		if v := tx.Bucket(bucketMeta).Get(keyApplied); len(v) == 8 {
			last = max(last, binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	return last, nil
}

// PendingEvents is the number of events in the journal not yet covered by
// a checkpoint: the depth of the intake queue.
func (s *Store) PendingEvents() int64 { return s.pendingEv.Load() }

// Read returns up to max journal entries after sequence number after.
func (s *Store) Read(after uint64, max int) ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJournal).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			_, data := entryCount(v)
			out = append(out, Entry{Seq: binary.BigEndian.Uint64(k), Data: append([]byte(nil), data...)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return out, nil
}

// State is what a Commit writes and Load reads back.
type State struct {
	// Checkpoint is the processor's encoded checkpoint (nil: none yet).
	Checkpoint []byte
	// Applied is the last journal sequence number the checkpoint covers;
	// Commit deletes the entries up to it.
	Applied uint64
	// Outbox holds the encoded findings made and not yet delivered.
	Outbox []byte
	// Files holds the follower's encoded file positions (watch).
	Files []byte
}

// Commit writes a checkpoint, the position it covers and the outbox in
// one transaction and removes the journal entries it covers. Fields left
// nil are not changed.
func (s *Store) Commit(st State) error {
	var covered []uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		for _, kv := range []struct {
			k, v []byte
		}{{keyCheckpoint, st.Checkpoint}, {keyOutbox, st.Outbox}, {keyFiles, st.Files}} {
			if kv.v != nil {
				if err := m.Put(kv.k, kv.v); err != nil {
					return err
				}
			}
		}
		if st.Applied == 0 {
			return nil
		}
		if err := m.Put(keyApplied, seqKey(st.Applied)); err != nil {
			return err
		}
		c := tx.Bucket(bucketJournal).Cursor()
		covered = covered[:0]
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= st.Applied; k, _ = c.Next() {
			covered = append(covered, binary.BigEndian.Uint64(k))
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	s.mu.Lock()
	for _, seq := range covered {
		s.pendingEv.Add(-int64(s.pending[seq]))
		delete(s.pending, seq)
	}
	s.mu.Unlock()
	return nil
}

// Load reads the last committed state.
func (s *Store) Load() (State, error) {
	var st State
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		st.Checkpoint = clone(m.Get(keyCheckpoint))
		st.Outbox = clone(m.Get(keyOutbox))
		st.Files = clone(m.Get(keyFiles))
		if v := m.Get(keyApplied); len(v) == 8 {
			st.Applied = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		return State{}, fmt.Errorf("loading state: %w", err)
	}
	return st, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}
