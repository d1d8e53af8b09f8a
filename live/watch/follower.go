package watch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxChunk caps the data of a file read at once; the rest comes in the
// next poll.
const maxChunk = 32 << 20

// prefixLen is how many first bytes of a file go into its identity.
const prefixLen = 1024

// Position is how far a file has been read. A file is known by its
// identity — device, inode and a hash of its first bytes — not by its
// path, so that a rotated file (renamed, a new one in its place) goes on
// from where it was and a new file that reuses an inode starts over.
type Position struct {
	Path       string `json:"path"` // where it was last seen
	Dev        uint64 `json:"dev"`
	Ino        uint64 `json:"ino"`
	PrefixLen  int    `json:"prefix_len"`
	PrefixHash string `json:"prefix_hash"`
	Offset     int64  `json:"offset"` // bytes read (of the file as stored)
	Line       int    `json:"line"`   // newlines read
	// Whole is set for files read as one document (gzip, or JSON not in
	// lines), which are read once they stop changing.
	Whole bool `json:"whole,omitempty"`
	Done  bool `json:"done,omitempty"`

	size, mtime int64 // last observation, to tell when a file settles
	seen        bool
}

// Follower reads the files under some paths as they grow.
type Follower struct {
	paths []string
	pos   []*Position
}

// NewFollower follows paths (files, directories read recursively without
// dot files, globs), starting from the positions Save returned, if any.
func NewFollower(paths []string, saved []byte) (*Follower, error) {
	f := &Follower{paths: paths}
	if len(saved) > 0 {
		if err := json.Unmarshal(saved, &f.pos); err != nil {
			return nil, fmt.Errorf("file positions: %w", err)
		}
	}
	return f, nil
}

// Save encodes the positions, for a checkpoint.
func (f *Follower) Save() []byte {
	b, _ := json.Marshal(f.pos) // plain structs
	return b
}

// Chunk is new data of one file, streamed: Poll hands one at a time and
// closes it after, so that what is held at once is a read buffer, however
// large the files.
type Chunk struct {
	Path string
	// Offset and Line are where the data starts in the file.
	Offset int64
	Line   int
	// R reads the data: whole lines (and a last line without a newline
	// only when it is a whole JSON value), or all of a document file.
	R io.Reader

	pos   *Position
	fh    *os.File // open while the chunk is handed
	whole bool
	end   int64 // offset after the data
	lines *lineCounter
}

// lineCounter counts the newlines read through it.
type lineCounter struct {
	r io.Reader
	n int
}

func (c *lineCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += bytes.Count(b[:n], []byte{'\n'})
	return n, err
}

// files lists the regular files under the paths, each once.
func (f *Follower) files() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range f.paths {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			matches, _ = filepath.Glob(p)
		}
		for _, m := range matches {
			info, err := os.Stat(m)
			if err != nil {
				continue
			}
			if !info.IsDir() {
				add(m)
				continue
			}
			_ = filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if path != m && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					add(path)
				}
				return nil
			})
		}
	}
	return out
}

func hashPrefix(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// Poll looks at every file once and hands its new data, oldest file
// first, to fn. A file's position moves past a chunk only when fn returns
// nil; an error from fn stops the poll and is returned, and the chunk is
// handed again at the next poll.
func (f *Follower) Poll(fn func(*Chunk) error) error {
	type found struct {
		p     *Position
		mtime int64
	}
	var live []found
	for _, p := range f.pos {
		p.seen = false
	}
	for _, path := range f.files() {
		info, err := os.Stat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		p, err := f.match(path, info)
		if err != nil {
			continue // vanished or unreadable: next poll
		}
		live = append(live, found{p, info.ModTime().UnixNano()})
	}
	// Forget files that are gone.
	keep := f.pos[:0]
	for _, p := range f.pos {
		if p.seen {
			keep = append(keep, p)
		}
	}
	f.pos = keep
	sort.SliceStable(live, func(i, j int) bool {
		if live[i].mtime != live[j].mtime {
			return live[i].mtime < live[j].mtime
		}
		return live[i].p.Path < live[j].p.Path
	})
	for _, l := range live {
		if err := f.read(l.p, fn); err != nil {
			return err
		}
	}
	return nil
}

// match finds the position of a file, making a new one for a file not
// seen before (or truncated, or whose first bytes changed).
func (f *Follower) match(path string, info fs.FileInfo) (*Position, error) {
	dev, ino := devIno(info)
	size, mtime := info.Size(), info.ModTime().UnixNano()
	for _, p := range f.pos {
		if p.seen || p.Dev != dev || p.Ino != ino {
			continue
		}
		if dev == 0 && ino == 0 && p.Path != path {
			continue
		}
		if p.size == size && p.mtime == mtime && p.Path == path {
			p.seen = true
			return p, nil // unchanged since the last poll
		}
		prefix, err := prefixOf(path, dev, ino, p.PrefixLen)
		if err != nil {
			return nil, err
		}
		if len(prefix) < p.PrefixLen || hashPrefix(prefix) != p.PrefixHash || size < p.Offset {
			// The inode now holds another file, or this one was truncated
			// (copytruncate rotation): read it from the start.
			*p = Position{Dev: dev, Ino: ino}
		}
		p.Path, p.seen = path, true
		return p, nil
	}
	p := &Position{Path: path, Dev: dev, Ino: ino, seen: true}
	f.pos = append(f.pos, p)
	return p, nil
}

// errMoved: the path names another file than the one stat saw (a
// rotation between the two).
var errMoved = errors.New("file replaced while being looked at")

// openSame opens path if it is still the file of device dev and inode ino
// (unknown, 0 and 0, on systems without them).
func openSame(path string, dev, ino uint64) (*os.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if d, i := devIno(info); d != dev || i != ino {
		fh.Close()
		return nil, errMoved
	}
	return fh, nil
}

// prefixOf reads the first n bytes of the file at path, if it is still
// the file of dev and ino.
func prefixOf(path string, dev, ino uint64, n int) ([]byte, error) {
	fh, err := openSame(path, dev, ino)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return prefixAt(fh, n)
}

// prefixAt reads the first n bytes of an open file.
func prefixAt(fh *os.File, n int) ([]byte, error) {
	b := make([]byte, n)
	k, err := fh.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return b[:k], nil
}

// read hands the file's new data, if any, to fn, and notes whether the
// file settled (kept its size and time since the last poll).
func (f *Follower) read(p *Position, fn func(*Chunk) error) error {
	// Opened only if the path still names the file the position is of: a
	// rotation since the stat would have this position read another file.
	fh, err := openSame(p.Path, p.Dev, p.Ino)
	if err != nil {
		return nil // gone or replaced since the stat: next poll
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil
	}
	size, mtime := info.Size(), info.ModTime().UnixNano()
	settled := p.size == size && p.mtime == mtime && size > 0
	p.size, p.mtime = size, mtime
	if p.Done || size <= p.Offset {
		return nil
	}
	if p.Offset == 0 && !p.Whole {
		head, _ := prefixAt(fh, 64<<10)
		p.Whole = isWhole(head)
	}
	var c *Chunk
	if p.Whole {
		if !settled {
			return nil
		}
		c = &Chunk{Path: p.Path, R: io.LimitReader(fh, size), pos: p, fh: fh, whole: true, end: size}
	} else {
		end, err := lineEnd(fh, p.Offset, min(size, p.Offset+maxChunk), size, settled)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Path, err)
		}
		if end <= p.Offset {
			return nil
		}
		c = &Chunk{Path: p.Path, Offset: p.Offset, Line: p.Line, R: io.NewSectionReader(fh, p.Offset, end-p.Offset), pos: p, fh: fh, end: end}
	}
	c.lines = &lineCounter{r: c.R}
	c.R = c.lines
	if err := fn(c); err != nil {
		return err
	}
	// The newlines are counted over all of the data, read or not.
	if _, err := io.Copy(io.Discard, c.R); err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	f.advance(c)
	return nil
}

// maxTail caps a last line without a newline that is checked for being a
// whole JSON value.
const maxTail = 64 << 20

// lineEnd is where the data of a line file to read now ends: after the
// last newline before limit. A last line without a newline is read only
// when the file has settled and the line is a whole JSON value — a writer
// pausing in the middle of a line leaves a tail that is not — and a
// range of maxChunk with no newline at all is read as it is (a line that
// long is refused by the decoder anyway).
func lineEnd(fh *os.File, from, limit, size int64, settled bool) (int64, error) {
	const block = 64 << 10
	buf := make([]byte, block)
	end := limit
	for end > from {
		start := max(from, end-block)
		n, err := fh.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if end == from && limit-from >= maxChunk {
		return limit, nil
	}
	if limit == size && end < size && settled && size-end <= maxTail {
		tail := make([]byte, size-end)
		if _, err := fh.ReadAt(tail, end); err != nil && err != io.EOF {
			return 0, err
		}
		if t := bytes.TrimSpace(tail); len(t) > 0 && json.Valid(t) {
			return size, nil
		}
	}
	return end, nil
}

// isWhole reports whether a file is one document rather than JSON lines:
// gzip, or JSON whose first line is not a complete value.
func isWhole(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return true
	}
	first := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		first = head[:i]
	} else {
		// No whole line yet: read as lines, which waits for a newline or
		// for the file to settle.
		return false
	}
	first = bytes.TrimSpace(first)
	return len(first) > 0 && !json.Valid(first)
}

// advance moves the file's position past a chunk handed to fn.
func (f *Follower) advance(c *Chunk) {
	p := c.pos
	if c.whole {
		p.Offset, p.Done = c.end, true
		// The newlines of a gzip file are those of its decompressed
		// data, which lines of diagnostics do not count in.
		if gz, _ := prefixAt(c.fh, 2); !bytes.Equal(gz, []byte{0x1f, 0x8b}) {
			p.Line = c.lines.n
		}
	} else {
		p.Offset = c.end
		p.Line = c.Line + c.lines.n
	}
	if p.PrefixLen < prefixLen {
		if prefix, err := prefixAt(c.fh, prefixLen); err == nil {
			p.PrefixLen, p.PrefixHash = len(prefix), hashPrefix(prefix)
		}
	}
}
