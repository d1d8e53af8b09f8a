package tune

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	textsuggest "github.com/revertwatch/revertwatch/internal/suggest"
)

// maxNodes bounds the work of walking a document, so that aliases that
// expand exponentially ("billion laughs") end in an error, not a hang.
const maxNodes = 100_000

// decoder walks a YAML node tree and records diagnostics with positions.
// Every decoding step reports into diags and goes on, so that one run shows
// every problem in the file.
type decoder struct {
	file  string
	diags Diagnostics
	nodes int
}

// maxDiagnostics caps what one file can report: a generated or pasted file
// with thousands of problems needs its first few fixed, not all listed.
const maxDiagnostics = 100

func (d *decoder) at(n *yaml.Node, warning bool, format string, args ...any) {
	if len(d.diags) >= maxDiagnostics {
		if len(d.diags) == maxDiagnostics {
			last := d.diags[len(d.diags)-1]
			d.diags = append(d.diags, Diagnostic{File: d.file, Line: last.Line, Column: last.Column, Message: "too many problems; stopped reporting"})
		}
		return
	}
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Column: col, Message: fmt.Sprintf(format, args...), Warning: warning})
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) { d.at(n, false, format, args...) }
func (d *decoder) warnf(n *yaml.Node, format string, args ...any)  { d.at(n, true, format, args...) }

// failed reports whether any error (not warning) has been recorded.
func (d *decoder) failed() bool { return d.diags.Errors() > 0 }

// resolve follows aliases to the node they name and charges the walk
// budget. It returns nil once the budget is spent.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 || n.Alias == nil {
			d.errorf(n, "alias *%s cannot be resolved", n.Value)
			return nil
		}
		n = n.Alias
	}
	d.nodes++
	if d.nodes == maxNodes+1 {
		d.errorf(n, "document too large: more than %d nodes (aliases expanding?)", maxNodes)
	}
	if d.nodes > maxNodes {
		return nil
	}
	return n
}

// parseDocument reads exactly one YAML document. An empty input gives nil.
func (d *decoder) parseDocument(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library is third-party code reading untrusted input;
		// a panic in it must become a diagnostic, not a crash.
		if r := recover(); r != nil {
			d.errorf(nil, "YAML parser failed: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		d.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		d.errorf(&next, "a config file holds one YAML document; found another here")
		return nil
	} else if !errors.Is(err, io.EOF) {
		d.syntaxError(data, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// maxLocateBytes bounds the input syntaxError re-parses to find the line.
const maxLocateBytes = 64 << 10

// syntaxError turns a YAML library error into a diagnostic. The library
// reports the line where the enclosing construct began (for a bad list
// item, the line of the list's key), and no column. To point at the line a
// person must fix, prefixes of the document are re-parsed: the shortest
// prefix, from that line on, that fails with the same message ends on the
// culprit line. A binary search keeps this to a handful of parses; it
// assumes that a prefix which fails keeps failing as lines are added, which
// holds for block-style YAML (a config file) and at worst lands on a later
// line of the same construct. The column is the line's first non-blank.
func (d *decoder) syntaxError(data []byte, err error) {
	line, msg := splitYAMLError(err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(i int) bool { // prefix of lines[0..i] fails with msg
		var n yaml.Node
		perr := safeUnmarshal(bytes.Join(lines[:i+1], nil), &n)
		if perr == nil {
			return false
		}
		_, m := splitYAMLError(perr)
		return m == msg
	}
	if line >= 1 && line <= len(lines) && len(data) <= maxLocateBytes && fails(len(lines)-1) {
		lo, hi := line-1, len(lines)-1
		for lo < hi {
			mid := lo + (hi-lo)/2
			if fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		line = lo + 1
	}
	col := 1
	if line >= 1 && line <= len(lines) {
		l := lines[line-1]
		col = len(l) - len(bytes.TrimLeft(l, " \t")) + 1
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Column: col, Message: "YAML syntax: " + msg})
}

func splitYAMLError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			return n, m[2]
		}
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}

// safeUnmarshal parses YAML, turning a panic of the library into an error.
func safeUnmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

// field is one key: value pair of a mapping.
type field struct {
	key   string
	k, v  *yaml.Node
	index int
}

// mapping checks that n is a mapping whose keys are all in known (no
// duplicates, no merge keys) and returns its pairs in file order. what
// names the mapping in messages.
func (d *decoder) mapping(n *yaml.Node, what string, known []string) []field {
	n = d.resolve(n)
	if n == nil {
		return nil
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of keys to values, not %s", what, describe(n))
		return nil
	}
	var out []field
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		v := n.Content[i+1]
		if k == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: a key must be a plain name, not %s", what, describe(k))
			continue
		}
		if k.Tag == "!!merge" || k.Value == "<<" {
			d.errorf(k, "%s: merge keys (<<) are not supported; write the keys out", what)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k, "%s: key %q repeats (first at line %d)", what, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		if !contains(known, k.Value) {
			d.errorf(k, "%s: unknown key %q%s", what, k.Value, suggest(k.Value, known))
			continue
		}
		out = append(out, field{key: k.Value, k: k, v: v, index: i / 2})
	}
	return out
}

// sequence returns the items of a sequence node (aliases resolved).
func (d *decoder) sequence(n *yaml.Node, what string) []*yaml.Node {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list, not %s", what, describe(n))
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		if r := d.resolve(item); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// scalar returns the text of a scalar node; it reports an error for
// anything else, null included.
func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	n = d.resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a single value, not %s", what, describe(n))
		return "", false
	}
	if isNull(n) {
		d.errorf(n, "%s has no value", what)
		return "", false
	}
	return n.Value, true
}

// scalars accepts one value or a list of values. Each value comes with its
// node, for positions.
func (d *decoder) scalars(n *yaml.Node, what string) ([]string, []*yaml.Node) {
	r := d.resolve(n)
	if r == nil {
		return nil, nil
	}
	if r.Kind == yaml.ScalarNode {
		s, ok := d.scalar(r, what)
		if !ok {
			return nil, nil
		}
		return []string{s}, []*yaml.Node{r}
	}
	if r.Kind != yaml.SequenceNode {
		d.errorf(r, "%s must be a value or a list of values, not %s", what, describe(r))
		return nil, nil
	}
	if len(r.Content) == 0 {
		d.errorf(r, "%s is an empty list; give at least one value or remove the key", what)
		return nil, nil
	}
	var vals []string
	var nodes []*yaml.Node
	for _, item := range r.Content {
		item = d.resolve(item)
		if item == nil {
			return vals, nodes
		}
		s, ok := d.scalar(item, what+" item")
		if !ok {
			continue
		}
		vals = append(vals, s)
		nodes = append(nodes, item)
	}
	return vals, nodes
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	s, ok := d.scalar(n, what)
	if !ok {
		return false
	}
	switch s {
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	d.errorf(d.resolve(n), "%s must be true or false, not %q", what, s)
	return false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "this"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest names the closest known key when a typo is likely.
func suggest(s string, known []string) string {
	best := textsuggest.Closest(s, known)
	keys := append([]string(nil), known...)
	sort.Strings(keys)
	list := "; known keys: " + strings.Join(keys, ", ")
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)%s", best, list)
	}
	return list
}
