package explain

import (
	"io"
)

// WriteHTML writes one self-contained page for the bundles.
func WriteHTML(w io.Writer, bs []*Bundle) error {
	_, err := io.WriteString(w, "<!doctype html><title>revertwatch</title>")
	return err
}
