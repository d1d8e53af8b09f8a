package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/revertwatch/revertwatch/finding"
)

// DefaultFileMode is the mode the findings file is created with: findings
// name accounts, principals and source addresses.
const DefaultFileMode os.FileMode = 0o600

// FileOptions configure a File.
type FileOptions struct {
	// MaxSize rotates the file when a delivery would grow it past this
	// many bytes; 0 never rotates.
	MaxSize int64
	// Keep is how many rotated files stay (at least 1).
	Keep int
	// Mode is the mode new files are created with (default
	// DefaultFileMode); an existing file keeps its own.
	Mode os.FileMode
}

// File appends findings to a file, fsyncing each delivery, and rotates it
// when it would grow past MaxSize: path becomes path.1, path.1 becomes
// path.2, and so on up to Keep old files.
//
// A delivery is in the file whole or not at all: a write that fails part
// way (a full disk) is truncated back before the error is returned, and a
// torn last line left by a crash is cut off when the file is opened, so
// that the finding it held is delivered again. With the line formats
// (ndjson, ocsf) Holds reads each line's id as a JSON value.
type File struct {
	path string
	r    Render
	opt  FileOptions

	mu   sync.Mutex
	f    *os.File
	size int64
	// write is f.Write; tests replace it to fail part way.
	write func([]byte) (int, error)
	// repaired counts the bytes of torn tails cut off since NewFile.
	repaired int64
}

// NewFile opens (creating) the file for appending and cuts off a torn
// last line.
func NewFile(path string, r Render, opt FileOptions) (*File, error) {
	if opt.Keep < 1 {
		opt.Keep = 1
	}
	if opt.Mode == 0 {
		opt.Mode = DefaultFileMode
	}
	s := &File{path: path, r: r, opt: opt}
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
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, s.opt.Mode)
	if err != nil {
		return fmt.Errorf("output file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("output file: %w", err)
	}
	s.f, s.size = f, info.Size()
	s.write = f.Write
	if err := s.repair(); err != nil {
		f.Close()
		s.f = nil
		return err
	}
	return nil
}

// repair cuts the file back to its last newline: what follows it is the
// torn tail of a write a crash interrupted.
func (s *File) repair() error {
	if s.size == 0 {
		return nil
	}
	const block = 64 << 10
	buf := make([]byte, block)
	end := s.size
	for end > 0 {
		start := max(0, end-block)
		n, err := s.f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return s.truncate(start + int64(i) + 1)
		}
		end = start
	}
	return s.truncate(0)
}

// truncate cuts the file to size bytes, durably.
func (s *File) truncate(size int64) error {
	if size == s.size {
		return nil
	}
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("%s: cutting back to %d bytes: %w", s.Name(), size, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	if size < s.size {
		s.repaired += s.size - size
	}
	s.size = size
	return nil
}

// Repaired is the number of bytes of torn tails cut off since NewFile.
func (s *File) Repaired() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repaired
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
	if s.opt.MaxSize > 0 && s.size > 0 && s.size+int64(len(b)) > s.opt.MaxSize {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	before := s.size
	n, err := s.write(b)
	s.size += int64(n)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// A part written (a full disk) would be written again with the
		// retry: cut it off first. If that fails too, the torn tail is
		// cut when the file is next opened.
		if terr := s.truncate(before); terr != nil {
			return fmt.Errorf("%s: %w (%v)", s.Name(), err, terr)
		}
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	return nil
}

func (s *File) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	s.f = nil
	for i := s.opt.Keep; i >= 1; i-- {
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
// delivery before a crash are. An id is held when it is a finding's id —
// ndjson's "id", OCSF's finding_info.uid, a JSON string in SARIF — never
// when it is only part of another value. The table does not show ids:
// nothing is held, and a redelivery writes its rows again.
func (s *File) Holds(ids []string) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := map[string]bool{}
	if s.r.Format == finding.FormatTable {
		return out, nil
	}
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
			for _, id := range lineIDs(s.r.Format, sc.Bytes()) {
				if want[id] {
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

// lineIDs returns the finding ids a line of the file holds.
func lineIDs(format string, line []byte) []string {
	switch format {
	case finding.FormatNDJSON:
		var v struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(line, &v) == nil && v.ID != "" {
			return []string{v.ID}
		}
	case finding.FormatOCSF:
		var v struct {
			Info struct {
				UID string `json:"uid"`
			} `json:"finding_info"`
		}
		if json.Unmarshal(line, &v) == nil && v.Info.UID != "" {
			return []string{v.Info.UID}
		}
	default:
		// SARIF, indented: every whole JSON string on the line.
		return jsonStrings(line)
	}
	return nil
}

// jsonStrings returns the JSON strings on a line of an indented document.
func jsonStrings(line []byte) []string {
	var out []string
	for i := 0; i < len(line); i++ {
		if line[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(line) && line[j] != '"' {
			if line[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(line) {
			break
		}
		var s string
		if json.Unmarshal(line[i:j+1], &s) == nil {
			out = append(out, s)
		}
		i = j
	}
	return out
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
