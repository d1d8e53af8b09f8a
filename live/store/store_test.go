package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The journal keeps entries until a commit covers them, across a reopen;
// a second process is refused the same directory.
func TestJournalCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{3, 4, 5} {
		seq, err := s.Append([]byte{byte(i)}, n)
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("append: %d %v", seq, err)
		}
	}
	if s.PendingEvents() != 12 {
		t.Fatalf("pending %d", s.PendingEvents())
	}
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if err := s.Commit(State{Checkpoint: []byte("cp"), Applied: 2, Outbox: []byte("[]")}); err != nil {
		t.Fatal(err)
	}
	if s.PendingEvents() != 5 {
		t.Fatalf("pending %d after the commit, want 5", s.PendingEvents())
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Load()
	if err != nil || string(st.Checkpoint) != "cp" || st.Applied != 2 || s.PendingEvents() != 5 {
		t.Fatalf("reopened: %+v %v, pending %d", st, err, s.PendingEvents())
	}
	es, err := s.Read(st.Applied, 10)
	if err != nil || len(es) != 1 || es[0].Seq != 3 || es[0].Data[0] != 2 {
		t.Fatalf("read %+v %v", es, err)
	}
}

// A state file that exists but is empty, or is not a state file, is an
// error naming it; Reset moves it aside and starts with no state, and a
// state file that reads is never reset.
func TestUnreadableStateNeedsReset(t *testing.T) {
	for name, content := range map[string][]byte{"empty": nil, "garbage": bytes.Repeat([]byte("not bbolt "), 1000)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir)
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), path) {
				t.Fatalf("open: %v, want ErrUnreadable naming %s", err, path)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, content) {
				t.Fatal("the unreadable file was changed without Reset")
			}
			s, err := Open(dir, Options{Reset: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append([]byte("x"), 1); err != nil {
				t.Fatal(err)
			}
			s.Close()
			aside, _ := filepath.Glob(path + ".unreadable-*")
			if len(aside) != 1 {
				t.Fatalf("moved aside: %v", aside)
			}
			s, err = Open(dir, Options{Reset: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.PendingEvents() != 1 {
				t.Fatal("Reset dropped a state file that reads")
			}
		})
	}
}
