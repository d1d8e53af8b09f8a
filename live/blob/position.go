package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// tailMax is how many bytes before a blob's offset the position hashes.
const tailMax = 1024

// Position is what an Input writes with each checkpoint: a Mark for each
// blob of the listing window, by name.
type Position struct {
	Blobs []Mark `json:"azblob"`
}

// Mark is how far one blob has been read.
type Mark struct {
	Name string `json:"name"`
	// Created is the blob's creation time: a blob deleted and written
	// anew has another and is read from the start.
	Created time.Time `json:"created"`
	// ETag is the version of the blob whose every whole line has been
	// read; empty while a version is read a chunk at a time.
	ETag   string `json:"etag,omitempty"`
	Offset int64  `json:"offset"` // bytes read
	Line   int    `json:"line"`   // newlines read
	// Tail is the hex SHA-256 (first 16 bytes) of the TailLen bytes before
	// Offset. Each read starts TailLen bytes early and checks them: a
	// blob written anew within the second its creation time is kept to
	// has other bytes there.
	TailLen int    `json:"tail_len,omitempty"`
	Tail    string `json:"tail,omitempty"`
	// Whole marks a blob read as one document (gzip, or JSON not in
	// lines), read once it has stopped changing.
	Whole bool `json:"whole,omitempty"`
	// Behind marks a blob not read to the end of its last listed version
	// (a read capped or not made yet): the listing window does not move
	// past its hour until it is.
	Behind bool `json:"behind,omitempty"`

	// triedTail: the last line of this version, without a newline, was
	// looked at once the blob had stopped changing and is no whole record
	// (not saved: a restart looks again).
	triedTail bool
}

// ParsePosition reads the position a checkpoint holds, refusing one that
// no Input wrote: another input's, or marks that contradict themselves.
func ParsePosition(raw []byte) (Position, error) {
	var p Position
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("the checkpoint's position is not an azblob input's (was the state directory written by another input?): %w", err)
	}
	if p.Blobs == nil {
		return p, fmt.Errorf("the checkpoint's position is not an azblob input's (was the state directory written by another input?)")
	}
	seen := make(map[string]bool, len(p.Blobs))
	for i, m := range p.Blobs {
		switch {
		case m.Name == "":
			return p, fmt.Errorf("azblob position %d: no blob name", i)
		case seen[m.Name]:
			return p, fmt.Errorf("azblob position %d: %s twice", i, m.Name)
		case m.Offset < 0 || m.Line < 0 || int64(m.Line) > m.Offset:
			return p, fmt.Errorf("azblob position of %s: offset %d, line %d", m.Name, m.Offset, m.Line)
		case m.TailLen < 0 || m.TailLen > tailMax || int64(m.TailLen) > m.Offset:
			return p, fmt.Errorf("azblob position of %s: %d bytes of tail before offset %d", m.Name, m.TailLen, m.Offset)
		case m.TailLen > 0 && !isHash(m.Tail), m.TailLen == 0 && m.Tail != "":
			return p, fmt.Errorf("azblob position of %s: tail hash %q", m.Name, m.Tail)
		}
		seen[m.Name] = true
	}
	return p, nil
}

func isHash(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 16
}

func hashTail(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}
