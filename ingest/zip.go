package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Zip archives are what a console download or a colleague hands over:
// they are read directly, member by member in the lexical order of their
// names (the order a walk of the unzipped directory has), each
// decoded as a file of its own, named ARCHIVE!MEMBER in events and
// diagnostics (positions are the member's). The archive is one input in
// the statistics. Directories, and names starting with a dot or under
// __MACOSX/ (Finder's resource forks), are left out, as a walk of a
// directory leaves hidden files out.

// maxZipInMemory caps an archive read from a stream (standard input, an
// in-memory input): zip's directory is at its end, so such an archive is
// held in memory. A file on disk is read in place, whatever its size.
const maxZipInMemory = 512 << 20

// isZip reports whether head starts a zip archive: a local file header,
// or the end record of an empty archive.
func isZip(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// openZip recognises a zip archive at the start of r. It returns the
// archive's reader, or nil and the reader to decode as usual (r itself,
// or r behind the first bytes it had to read to look at them).
func openZip(r io.Reader) (*zip.Reader, io.Reader, error) {
	if ra, ok := r.(interface {
		io.ReaderAt
		Seek(int64, int) (int64, error)
	}); ok {
		var head [4]byte
		if n, _ := ra.ReadAt(head[:], 0); !isZip(head[:n]) {
			return nil, r, nil
		}
		size, err := ra.Seek(0, io.SeekEnd)
		if err == nil {
			_, err = ra.Seek(0, io.SeekStart)
		}
		if err != nil {
			return nil, nil, err
		}
		zr, err := zip.NewReader(ra, size)
		return zr, nil, err
	}
	// Look at the first bytes and give them back in front of the rest:
	// no buffer for the inputs that are not archives, most of them.
	var head [4]byte
	n, err := io.ReadFull(r, head[:])
	rest := io.MultiReader(bytes.NewReader(head[:n]), r)
	if err != nil || !isZip(head[:n]) {
		// Shorter than a zip header, or unreadable: decoded, and its
		// damage named, as usual.
		return nil, rest, nil
	}
	data, err := io.ReadAll(io.LimitReader(rest, maxZipInMemory+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxZipInMemory {
		return nil, nil, fmt.Errorf("over %d MiB read from a stream (unzip it, or give it as a file, which is read in place)", maxZipInMemory>>20)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	return zr, nil, err
}

// skipMember reports whether a zip member is left out.
func skipMember(f *zip.File) bool {
	if f.FileInfo().IsDir() || strings.HasPrefix(f.Name, "__MACOSX/") {
		return true
	}
	return strings.HasPrefix(path.Base(f.Name), ".")
}

// zipMembers decodes the members of an archive one after the other.
func (d *fileDecoder) zipMembers(ctx context.Context, zr *zip.Reader) {
	archive := d.name
	progress := d.opt.Progress
	// The members' bytes are decompressed: the progress counts the
	// archive's compressed bytes, member by member, instead.
	opt := *d.opt
	opt.Progress = nil
	saved := d.opt
	d.opt = &opt
	defer func() { d.name, d.opt = archive, saved }()
	// In lexical order, as a walk of the unzipped directory reads them.
	members := append([]*zip.File(nil), zr.File...)
	sort.SliceStable(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	n := 0
	for _, f := range members {
		if ctx.Err() != nil {
			return
		}
		if skipMember(f) {
			continue
		}
		n++
		name := archive + "!" + f.Name
		if d.chunks != nil {
			d.chunks.flush() // a chunk holds one member's records
			d.chunks.file = name
		}
		d.name, d.index = name, 0
		rc, err := f.Open()
		if err != nil {
			d.report(FileErr, recordPos{}, -1, "zip", fmt.Sprintf("zip member unreadable: %v", err))
			continue
		}
		d.run(&ctxReader{ctx: ctx, r: rc})
		rc.Close()
		if progress != nil {
			progress.BytesRead.Add(int64(f.CompressedSize64))
		}
	}
	d.name = archive
	if n == 0 {
		d.report(FileErr, recordPos{}, -1, "empty", "empty zip archive: no files in it")
	}
}
