package main

// One flag vocabulary across the commands, as the CLIs our users know
// have it: -o/--output names the FILE (or directory) output goes to,
// -f/--format says what it is written as. The spellings of earlier
// versions still work for a while, with a warning saying what to write
// instead.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// registerOutput adds -o/--output to fs, with what it names for the help.
func registerOutput(fs *pflag.FlagSet, p *string, usage string) {
	fs.StringVarP(p, "output", "o", "", usage)
}

// registerOutAlias adds --out, the spelling of -o/--output in earlier
// versions, as a deprecated alias of it.
func registerOutAlias(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "out", "", "deprecated: use -o/--output")
	_ = fs.MarkDeprecated("out", "use -o/--output")
}

// warnDeprecated tells the user, on stderr, that a spelling still works
// but will not for long, and what to write instead.
func warnDeprecated(what, instead string) {
	fmt.Fprintf(os.Stderr, "revertwatch: warning: %s is deprecated; %s\n", what, instead)
}

// createOutput returns where output goes: stdout when path is empty or
// "-", else a new file (a directory that does not exist yet is an error
// naming it). done flushes and closes, once (a deferred call after the
// checked one does nothing); its error is the write's.
func createOutput(stdout io.Writer, path string) (w *bufio.Writer, done func() error, err error) {
	if path == "" || path == "-" {
		bw := bufio.NewWriterSize(stdout, 256<<10)
		return bw, bw.Flush, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	closed := false
	return bw, func() error {
		if closed {
			return nil
		}
		closed = true
		err := bw.Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// isDirTarget reports whether an output path names a directory: one that
// exists, or one written with a trailing separator.
func isDirTarget(path string) bool {
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) {
		return true
	}
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
