package sigma

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/internal/suggest"
	"github.com/revertwatch/revertwatch/level"
)

// LintOptions tune Lint.
type LintOptions struct {
	// Config supplies field mappings and placeholders, as for running.
	Config *Config
	// SchemaDir, when set, holds the specification's JSON schemas
	// (sigma-detection-rule-schema.json, sigma-correlation-rules-schema.json,
	// sigma-filters-schema.json): every document is validated against them
	// too, each error located at the YAML node it concerns.
	SchemaDir string
}

// LintResult is what Lint found.
type LintResult struct {
	Files, Rules, Runnable int
	// Problems in file, line and column order.
	Problems []Problem
}

// Count returns the number of problems of a severity.
func (r *LintResult) Count(s Severity) int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == s {
			n++
		}
	}
	return n
}

// LintPaths lints rule files and directories.
func LintPaths(paths []string, opt LintOptions) (*LintResult, error) {
	l, err := newLinter(opt)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if err := l.rs.AddPath(p); err != nil {
			return nil, err
		}
	}
	return l.finish(), nil
}

// Lint lints one file's contents.
func Lint(name string, data []byte, opt LintOptions) (*LintResult, error) {
	l, err := newLinter(opt)
	if err != nil {
		return nil, err
	}
	l.rs.AddFile(name, data)
	return l.finish(), nil
}

type linter struct {
	rs      *Ruleset
	schemas map[Kind]*jsonschema.Schema
	extra   []Problem
}

// schemaFiles are the specification's schema files by document kind.
var schemaFiles = map[Kind]string{
	KindDetection:   "sigma-detection-rule-schema.json",
	KindCorrelation: "sigma-correlation-rules-schema.json",
	KindFilter:      "sigma-filters-schema.json",
}

func newLinter(opt LintOptions) (*linter, error) {
	l := &linter{rs: NewRuleset(opt.Config)}
	if opt.SchemaDir != "" {
		s, err := LoadSchemas(opt.SchemaDir)
		if err != nil {
			return nil, err
		}
		l.schemas = s
	}
	l.rs.onDoc = l.check
	return l, nil
}

// LoadSchemas compiles the specification's JSON schemas from dir.
func LoadSchemas(dir string) (map[Kind]*jsonschema.Schema, error) {
	out := map[Kind]*jsonschema.Schema{}
	for _, k := range []Kind{KindDetection, KindCorrelation, KindFilter} {
		f := filepath.Join(dir, schemaFiles[k])
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		// The detection schema names its meta-schema with a trailing '#'.
		if m, ok := doc.(map[string]any); ok {
			if s, ok := m["$schema"].(string); ok {
				m["$schema"] = strings.TrimSuffix(s, "#")
			}
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		url := "file:///" + schemaFiles[k]
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		s, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out[k] = s
	}
	return out, nil
}

func (l *linter) finish() *LintResult {
	l.rs.Resolve()
	res := &LintResult{Files: l.rs.Files, Runnable: len(l.rs.Rules)}
	res.Problems = append(append([]Problem(nil), l.rs.Problems...), l.extra...)
	res.Rules = l.rs.docs
	sort.SliceStable(res.Problems, func(i, j int) bool {
		a, b := res.Problems[i], res.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	// The same finding from the schema and from the loader once.
	out := res.Problems[:0]
	for i, p := range res.Problems {
		if i > 0 && p.File == res.Problems[i-1].File && p.Line == res.Problems[i-1].Line && p.Message == res.Problems[i-1].Message {
			continue
		}
		out = append(out, p)
	}
	res.Problems = out
	return res
}

func (l *linter) add(file string, n *yaml.Node, sev Severity, rule, format string, a ...any) {
	p := Problem{File: file, Line: n.Line, Column: n.Column, Severity: sev, Rule: rule, Message: fmt.Sprintf(format, a...)}
	p.SeverityName = sev.String()
	l.extra = append(l.extra, p)
}

// Keys the specification defines, for did-you-mean on typos; other keys
// are custom fields, which Sigma allows.
var knownKeys = []string{"title", "id", "name", "related", "taxonomy", "status", "description", "license", "author",
	"references", "date", "modified", "logsource", "detection", "fields", "falsepositives", "level", "tags", "scope",
	"correlation", "generate", "filter"}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	dateRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$`)
	tagRE  = regexp.MustCompile(`^[a-z0-9_-]+\.[a-z0-9._-]+$`)
)

// check runs the checks a schema and the loader cannot: typos, unused
// search identifiers, conventions; and the JSON schemas when loaded.
func (l *linter) check(file string, m *yaml.Node) {
	ref := ""
	if _, v := get(m, "title"); v != nil {
		ref = v.Value
	}
	for _, k := range []string{"name", "id"} {
		if _, v := get(m, k); v != nil && v.Value != "" {
			ref = v.Value
			break
		}
	}
	kind := KindDetection
	if _, v := get(m, "correlation"); v != nil {
		kind = KindCorrelation
	} else if _, v := get(m, "filter"); v != nil {
		kind = KindFilter
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if slices.Contains(knownKeys, k.Value) {
			continue
		}
		if best := suggest.Closest(k.Value, knownKeys); best != "" {
			l.add(file, k, SevWarning, ref, "unknown key %q; help: did you mean %q?", k.Value, best)
		}
	}
	if l.schemas != nil {
		// The schemas check ids, dates, enums and tags themselves.
		l.validate(file, ref, kind, m)
		if kind == KindDetection {
			if _, det := get(m, "detection"); det != nil && det.Kind == yaml.MappingNode {
				l.checkDetection(file, ref, det)
			}
		}
		return
	}
	if k, v := get(m, "id"); v != nil {
		if !uuidRE.MatchString(v.Value) {
			l.add(file, v, SevError, ref, "id %q is not a UUID", v.Value)
		}
	} else if kind == KindDetection && k == nil {
		l.add(file, m, SevWarning, ref, "no id: correlations and filters can only refer to this rule by name")
	}
	for _, key := range []string{"date", "modified"} {
		if _, v := get(m, key); v != nil && !dateRE.MatchString(v.Value) {
			l.add(file, v, SevError, ref, "%s %q: want YYYY-MM-DD", key, v.Value)
		}
	}
	if _, v := get(m, "title"); v != nil && len(v.Value) > 256 {
		l.add(file, v, SevError, ref, "title longer than 256 characters")
	}
	if _, v := get(m, "level"); v != nil {
		if _, ok := level.ParseSigma(v.Value); !ok {
			l.add(file, v, SevError, ref, "level %q: want %s, %s, %s, %s or %s", v.Value,
				level.Info.Sigma(), level.Low.Sigma(), level.Medium.Sigma(), level.High.Sigma(), level.Critical.Sigma())
		}
	}
	if _, v := get(m, "status"); v != nil && !slices.Contains([]string{"stable", "test", "experimental", "deprecated", "unsupported"}, v.Value) {
		l.add(file, v, SevError, ref, "status %q: want stable, test, experimental, deprecated or unsupported", v.Value)
	}
	if _, v := get(m, "tags"); v != nil && v.Kind == yaml.SequenceNode {
		for _, t := range v.Content {
			if !tagRE.MatchString(t.Value) {
				l.add(file, t, SevError, ref, "tag %q: tags are lower case, namespaced (attack.t1578.004)", t.Value)
			}
		}
	}
	if kind == KindDetection {
		if _, det := get(m, "detection"); det != nil && det.Kind == yaml.MappingNode {
			l.checkDetection(file, ref, det)
		}
	}
}

// checkDetection warns about search identifiers no condition uses and
// |all on a single value.
func (l *linter) checkDetection(file, ref string, det *yaml.Node) {
	_, cn := get(det, "condition")
	if cn == nil {
		return
	}
	var conds []string
	if cn.Kind == yaml.ScalarNode {
		conds = []string{cn.Value}
	} else {
		conds, _ = scalarList(cn)
	}
	var ids []string
	for i := 0; i+1 < len(det.Content); i += 2 {
		if k := det.Content[i].Value; k != "condition" {
			ids = append(ids, k)
		}
	}
	sort.Strings(ids)
	used := map[string]bool{}
	for _, s := range conds {
		c, err := parseCondition(s, ids)
		if err != nil {
			return // the loader reports it
		}
		c.idents(used)
	}
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], det.Content[i+1]
		if k.Value == "condition" {
			continue
		}
		if !used[k.Value] {
			l.add(file, k, SevWarning, ref, "search identifier %q is not used by the condition", k.Value)
		}
		maps := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			maps = v.Content
		}
		for _, mp := range maps {
			if mp.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(mp.Content); j += 2 {
				fk, fv := mp.Content[j], mp.Content[j+1]
				if strings.Contains(fk.Value, "|all") && !strings.Contains(fk.Value, "|all|") && fv.Kind != yaml.SequenceNode {
					l.add(file, fk, SevWarning, ref, "%s: |all on a single value means nothing (the appendix forbids it)", fk.Value)
				}
			}
		}
	}
}

// validate checks a document against its JSON schema.
func (l *linter) validate(file, ref string, kind Kind, m *yaml.Node) {
	s := l.schemas[kind]
	if s == nil {
		return
	}
	err := s.Validate(toJSON(m))
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return
	}
	// The alternatives of a oneOf fail together: one message per place.
	var order []string
	msgs := map[string][]string{}
	nodes := map[string]*yaml.Node{}
	for _, leaf := range leaves(ve) {
		loc := "/" + strings.Join(leaf.InstanceLocation, "/")
		msg := leaf.Error()
		if i := strings.Index(msg, "': "); i >= 0 && strings.HasPrefix(msg, "at '") {
			msg = msg[i+3:]
		}
		if _, ok := msgs[loc]; !ok {
			order = append(order, loc)
			nodes[loc] = nodeAt(m, leaf.InstanceLocation)
		}
		if !slices.Contains(msgs[loc], msg) {
			msgs[loc] = append(msgs[loc], msg)
		}
	}
	for _, loc := range order {
		l.add(file, nodes[loc], SevError, ref, "schema %s: %s: %s", schemaFiles[kind], loc, strings.Join(msgs[loc], "; or "))
	}
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// nodeAt follows a JSON pointer's tokens through a YAML tree, stopping at
// the deepest node found.
func nodeAt(n *yaml.Node, loc []string) *yaml.Node {
	for _, tok := range loc {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return n
			}
			n = next
		case yaml.SequenceNode:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(n.Content) {
				return n
			}
			n = n.Content[i]
		default:
			return n
		}
	}
	return n
}

// toJSON converts a YAML tree to the values a JSON schema validates:
// dates stay strings, as they are written.
func toJSON(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return toJSON(n.Content[0])
		}
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toJSON(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = toJSON(c)
		}
		return out
	case yaml.AliasNode:
		if n.Alias != nil {
			return toJSON(n.Alias)
		}
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			return strings.EqualFold(n.Value, "true")
		case "!!int", "!!float":
			return json.Number(n.Value)
		}
		return n.Value
	}
	return nil
}
