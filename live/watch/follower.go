package watch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// Chunk is new data of one file.
type Chunk struct {
	Path string
	// Offset and Line are where the data starts in the file.
	Offset int64
	Line   int
	Data   []byte
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

// Poll looks at every file once and returns the new data, oldest file
// first. Positions move only when Advance is called with the chunk, so a
// chunk that could not be processed is returned again.
func (f *Follower) Poll() ([]Chunk, error) {
	var chunks []Chunk
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
		c, err := f.read(l.p)
		if err != nil {
			return chunks, err
		}
		if c != nil {
			chunks = append(chunks, *c)
		}
	}
	return chunks, nil
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
		prefix, err := readPrefix(path, p.PrefixLen)
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

func readPrefix(path string, n int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(fh, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return b[:k], nil
}

// read returns the file's new data, if any, and notes whether it settled.
func (f *Follower) read(p *Position) (*Chunk, error) {
	fh, err := os.Open(p.Path)
	if err != nil {
		return nil, nil // gone since the stat: next poll
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, nil
	}
	size, mtime := info.Size(), info.ModTime().UnixNano()
	settled := p.size == size && p.mtime == mtime && size > 0
	p.size, p.mtime = size, mtime
	if p.Done || size <= p.Offset {
		return nil, nil
	}
	if p.Offset == 0 && !p.Whole {
		head, _ := readPrefix(p.Path, 64<<10)
		p.Whole = isWhole(head)
	}
	if p.Whole {
		if !settled {
			return nil, nil
		}
		data, err := io.ReadAll(fh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Path, err)
		}
		return &Chunk{Path: p.Path, Data: data}, nil
	}
	if _, err := fh.Seek(p.Offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", p.Path, err)
	}
	data, err := io.ReadAll(io.LimitReader(fh, min(size-p.Offset, maxChunk)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Path, err)
	}
	// Only whole lines, unless the file stopped changing with a last line
	// that has no newline.
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		if !settled || i == len(data)-1 || p.Offset+int64(len(data)) < size {
			data = data[:i+1]
		}
	} else if !settled {
		return nil, nil
	}
	return &Chunk{Path: p.Path, Offset: p.Offset, Line: p.Line, Data: data}, nil
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

// Advance moves the file's position past a chunk Poll returned.
func (f *Follower) Advance(c Chunk) {
	for _, p := range f.pos {
		if p.Path != c.Path {
			continue
		}
		if p.Whole {
			p.Offset, p.Done = int64(len(c.Data)), true
			if !bytes.HasPrefix(c.Data, []byte{0x1f, 0x8b}) {
				p.Line = bytes.Count(c.Data, []byte{'\n'})
			}
		} else {
			p.Offset = c.Offset + int64(len(c.Data))
			p.Line = c.Line + bytes.Count(c.Data, []byte{'\n'})
		}
		if p.PrefixLen < prefixLen {
			if prefix, err := readPrefix(p.Path, prefixLen); err == nil {
				p.PrefixLen, p.PrefixHash = len(prefix), hashPrefix(prefix)
			}
		}
		return
	}
}
