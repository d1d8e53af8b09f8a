package sink

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/revertwatch/revertwatch/finding"
)

// File appends findings to a file, fsyncing each delivery, and rotates it
// when it would grow past MaxSize: path becomes path.1, path.1 becomes
// path.2, and so on up to Keep old files.
type File struct {
	path    string
	r       Render
	maxSize int64
	keep    int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewFile opens (creating) the file for appending. maxSize 0 means never
// rotate; keep is how many rotated files stay (at least 1).
func NewFile(path string, r Render, maxSize int64, keep int) (*File, error) {
	if keep < 1 {
		keep = 1
	}
	s := &File{path: path, r: r, maxSize: maxSize, keep: keep}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *File) open() error {
	if dir := filepath.Dir(s.path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("output file: %w", err)
		}
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("output file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("output file: %w", err)
	}
	s.f, s.size = f, info.Size()
	return nil
}

// Name implements Sink.
func (s *File) Name() string { return "file " + s.path }

// Deliver implements Sink.
func (s *File) Deliver(_ context.Context, fs []finding.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	b, err := s.r.Bytes(fs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("%s: closed", s.Name())
	}
	if s.maxSize > 0 && s.size > 0 && s.size+int64(len(b)) > s.maxSize {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.f.Write(b)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	return nil
}

func (s *File) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	s.f = nil
	for i := s.keep; i >= 1; i-- {
		from := s.path
		if i > 1 {
			from = s.path + "." + strconv.Itoa(i-1)
		}
		if err := os.Rename(from, s.path+"."+strconv.Itoa(i)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("%s: rotating: %w", s.Name(), err)
		}
	}
	return s.open()
}

// Holds implements Holder: it looks for each id in the current file and
// the newest rotated one, which is where the findings of the last
// delivery before a crash are.
func (s *File) Holds(ids []string) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, p := range []string{s.path, s.path + ".1"} {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name(), err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := sc.Bytes()
			for _, id := range ids {
				if !out[id] && bytes.Contains(line, []byte(id)) {
					out[id] = true
				}
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name(), err)
		}
	}
	return out, nil
}

// Close implements Sink.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
