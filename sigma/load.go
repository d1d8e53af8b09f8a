package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/event"
)

// Ruleset is a set of loaded rule files: the rules that run, and the
// problems of those that do not.
type Ruleset struct {
	// Rules are the documents that run, in load order: detection rules,
	// correlation rules and filters.
	Rules []*Rule
	// Problems lists, in file order, everything wrong or unsupported; a
	// rule with a problem of severity error or unsupported is not in Rules.
	Problems []Problem
	// Files counts the files read.
	Files int

	cfg   *Config
	comp  compiler
	docs  int                             // documents read
	onDoc func(file string, m *yaml.Node) // lint's hook

	pending  []*Rule // parsed, not yet resolved
	resolved bool
}

// NewRuleset starts an empty set; cfg (may be nil) supplies field
// mappings and placeholders.
func NewRuleset(cfg *Config) *Ruleset {
	rs := &Ruleset{cfg: cfg}
	if cfg != nil {
		rs.comp.placeholders = cfg.Placeholders
	}
	return rs
}

// Load reads rule files and directories (recursively, *.yml and *.yaml, in
// lexical order) into a new Ruleset and resolves it. An unreadable path is
// an error; a bad rule is a Problem.
func Load(paths []string, cfg *Config) (*Ruleset, error) {
	rs := NewRuleset(cfg)
	for _, p := range paths {
		if err := rs.AddPath(p); err != nil {
			return nil, err
		}
	}
	rs.Resolve()
	return rs, nil
}

// AddPath adds a file, or every rule file under a directory.
func (rs *Ruleset) AddPath(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rs.AddFile(p, data)
		return nil
	}
	var files []string
	err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml")) {
			files = append(files, f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rs.AddFile(f, data)
	}
	return nil
}

// AddFile parses one file of one or more YAML documents. It never panics:
// malformed input becomes a Problem.
func (rs *Ruleset) AddFile(name string, data []byte) {
	rs.Files++
	rs.resolved = false
	rs.pending = append(rs.pending, rs.parse(name, data)...)
}

func (rs *Ruleset) problem(p Problem) {
	p.SeverityName = p.Severity.String()
	rs.Problems = append(rs.Problems, p)
}

// parse splits a file into documents and builds each one.
func (rs *Ruleset) parse(name string, data []byte) (out []*Rule) {
	defer func() {
		if r := recover(); r != nil {
			rs.problem(Problem{File: name, Line: 1, Column: 1, Severity: SevError, Message: fmt.Sprintf("unreadable YAML: %v", r)})
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			line, col := yamlErrPos(err)
			rs.problem(Problem{File: name, Line: line, Column: col, Severity: SevError, Message: "YAML: " + yamlErrMsg(err)})
			return out
		}
		m := docMap(&n)
		if m == nil {
			if n.Kind == yaml.DocumentNode && len(n.Content) == 0 {
				continue
			}
			rs.problem(Problem{File: name, Line: n.Line, Column: n.Column, Severity: SevError, Message: "a Sigma document is a map"})
			continue
		}
		rs.docs++
		if rs.onDoc != nil {
			rs.onDoc(name, m)
		}
		if r := rs.build(name, m); r != nil {
			out = append(out, r)
		}
	}
}

// yamlErrPos pulls "line N" out of a yaml error.
func yamlErrPos(err error) (int, int) {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		j := i + 5
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if n, e := strconv.Atoi(s[j:k]); e == nil {
			return n, 1
		}
	}
	return 1, 1
}

func yamlErrMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// build turns one document into a Rule, reporting its problems.
func (rs *Ruleset) build(file string, m *yaml.Node) *Rule {
	r := &Rule{File: file, Line: m.Line, Column: m.Column}
	str := func(key string) string {
		if _, v := get(m, key); v != nil && v.Kind == yaml.ScalarNode {
			return v.Value
		}
		return ""
	}
	list := func(key string) []string {
		_, v := get(m, key)
		if v == nil {
			return nil
		}
		vals, _ := scalarList(v)
		return vals
	}
	r.ID, r.Name, r.Title = str("id"), str("name"), str("title")
	r.Status, r.Description, r.Author = str("status"), str("description"), str("author")
	r.Date, r.Modified, r.Level = str("date"), str("modified"), str("level")
	r.References, r.Tags, r.FalsePositives = list("references"), list("tags"), list("falsepositives")
	if _, ls := get(m, "logsource"); ls != nil && ls.Kind == yaml.MappingNode {
		_ = ls.Decode(&r.Logsource)
	}
	fail := func(n *yaml.Node, sev Severity, construct, format string, a ...any) *Rule {
		if n == nil {
			n = m
		}
		rs.problem(Problem{File: file, Line: n.Line, Column: n.Column, Severity: sev, Rule: r.Ref(),
			Construct: construct, Message: fmt.Sprintf(format, a...)})
		return nil
	}
	failErr := func(err error) *Rule {
		var ce *compileError
		if errors.As(err, &ce) {
			sev := SevError
			if ce.construct != "" {
				sev = SevUnsupported
			}
			return fail(ce.node, sev, ce.construct, "%s", ce.msg)
		}
		return fail(nil, SevError, "", "%v", err)
	}
	if _, v := get(m, "action"); v != nil {
		return fail(v, SevUnsupported, "action: "+v.Value, "Sigma 1.0 rule collections (action: global/reset/repeat) are not part of Sigma 2; write each rule out")
	}
	_, det := get(m, "detection")
	_, corr := get(m, "correlation")
	_, filt := get(m, "filter")
	kinds := 0
	for _, x := range []*yaml.Node{det, corr, filt} {
		if x != nil {
			kinds++
		}
	}
	if kinds != 1 {
		return fail(nil, SevError, "", "a document needs exactly one of detection, correlation or filter")
	}
	if r.Title == "" {
		return fail(nil, SevError, "", "title is required")
	}
	switch {
	case det != nil:
		r.Kind = KindDetection
		if _, ls := get(m, "logsource"); ls == nil {
			return fail(nil, SevError, "", "logsource is required")
		}
		d, _, err := rs.comp.compileDetection(det, true)
		if err != nil {
			return failErr(err)
		}
		r.det = d
		prov, construct, ok := logsourceProvider(r.Logsource)
		if !ok {
			k, _ := get(m, "logsource")
			return fail(k, SevUnsupported, construct,
				"logsource %s is not a log revertwatch reads (it reads product aws, service cloudtrail; product azure, service activitylogs; product gcp, service gcp.audit)", construct)
		}
		r.provider = prov
	case corr != nil:
		r.Kind = KindCorrelation
		c, err := parseCorrelation(corr)
		if err != nil {
			return failErr(err)
		}
		r.Correlation = c
	case filt != nil:
		r.Kind = KindFilter
		f, err := rs.parseFilter(filt)
		if err != nil {
			return failErr(err)
		}
		r.Filter = f
		prov, construct, ok := logsourceProvider(r.Logsource)
		if !ok {
			k, _ := get(m, "logsource")
			return fail(k, SevUnsupported, construct, "filter logsource %s is not a log revertwatch reads", construct)
		}
		r.provider = prov
	}
	return r
}

// logsourceProvider maps a logsource onto the event provider it selects.
func logsourceProvider(ls Logsource) (provider, construct string, ok bool) {
	p, s := strings.ToLower(ls.Product), strings.ToLower(ls.Service)
	switch {
	case p == "aws" && (s == "" || s == "cloudtrail"):
		return event.AWS, "", true
	case p == "azure" && (s == "" || s == "activitylogs" || s == "activitylog"):
		return event.Azure, "", true
	case p == "gcp" && (s == "" || s == "gcp.audit" || s == "audit"):
		return event.GCP, "", true
	case p == "" && s == "" && ls.Category == "":
		return "", "", true
	}
	var parts []string
	for _, kv := range [][2]string{{"category", ls.Category}, {"product", ls.Product}, {"service", ls.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	return "", "logsource " + strings.Join(parts, ", "), false
}

func parseCorrelation(n *yaml.Node) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "correlation must be a map")
	}
	c := &Correlation{Aliases: map[string]map[string]string{}}
	k, v := get(n, "type")
	if v == nil {
		return nil, errAt(n, "correlation.type is required")
	}
	c.Type = CorrelationType(v.Value)
	switch c.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered:
	case "value_sum", "value_avg", "value_percentile", "value_median":
		return nil, unsupportedAt(v, "correlation type "+v.Value, "correlation type %s is not supported (event_count, value_count, temporal and temporal_ordered are)", v.Value)
	default:
		return nil, errAt(v, "unknown correlation type %q", v.Value)
	}
	_ = k
	_, v = get(n, "rules")
	if v == nil {
		return nil, errAt(n, "correlation.rules is required")
	}
	rules, ok := scalarList(v)
	if !ok || len(rules) == 0 {
		return nil, errAt(v, "correlation.rules must list rule ids or names")
	}
	c.Rules = rules
	if _, v = get(n, "group-by"); v != nil {
		gb, ok := scalarList(v)
		if !ok {
			return nil, errAt(v, "group-by must list field names")
		}
		c.GroupBy = gb
	} else {
		return nil, errAt(n, "correlation.group-by is required")
	}
	_, v = get(n, "timespan")
	if v == nil {
		return nil, errAt(n, "correlation.timespan is required")
	}
	d, err := ParseTimespan(v.Value)
	if err != nil {
		return nil, errAt(v, "%v", err)
	}
	c.Timespan = d
	if _, v = get(n, "generate"); v != nil {
		b, err := strconv.ParseBool(v.Value)
		if err != nil {
			return nil, errAt(v, "generate must be true or false")
		}
		c.Generate = b
	}
	if _, v = get(n, "aliases"); v != nil {
		if v.Kind != yaml.MappingNode {
			return nil, errAt(v, "aliases must map alias names to {rule: field}")
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			an, am := v.Content[i], v.Content[i+1]
			if am.Kind != yaml.MappingNode {
				return nil, errAt(am, "alias %s must map rule names to field names", an.Value)
			}
			c.Aliases[an.Value] = map[string]string{}
			for j := 0; j+1 < len(am.Content); j += 2 {
				if am.Content[j+1].Kind != yaml.ScalarNode {
					return nil, errAt(am.Content[j+1], "alias %s: field name must be a string", an.Value)
				}
				c.Aliases[an.Value][am.Content[j].Value] = am.Content[j+1].Value
			}
		}
	}
	_, cv := get(n, "condition")
	if cv != nil {
		if cv.Kind != yaml.MappingNode {
			return nil, errAt(cv, "correlation condition must be a map like {gte: 10}")
		}
		for i := 0; i+1 < len(cv.Content); i += 2 {
			ck, cval := cv.Content[i], cv.Content[i+1]
			switch ck.Value {
			case "field":
				f, ok := scalarList(cval)
				if !ok || len(f) == 0 {
					return nil, errAt(cval, "condition.field must be a field name or a list")
				}
				c.Field = f
			case "gt", "gte", "lt", "lte", "eq", "neq":
				x, err := strconv.Atoi(cval.Value)
				if err != nil || cval.Kind != yaml.ScalarNode {
					return nil, errAt(cval, "condition.%s must be an integer", ck.Value)
				}
				c.Condition = append(c.Condition, Threshold{Op: ck.Value, Value: x})
			case "range":
				return nil, unsupportedAt(ck, "correlation condition range", "condition.range is not in the specification; use gte and lte")
			default:
				return nil, errAt(ck, "unknown correlation condition %q (want gt, gte, lt, lte, eq, neq, field)", ck.Value)
			}
		}
	}
	switch c.Type {
	case EventCount:
		if len(c.Condition) == 0 {
			return nil, errAt(n, "event_count needs a condition")
		}
	case ValueCount:
		if len(c.Condition) == 0 || len(c.Field) == 0 {
			return nil, errAt(n, "value_count needs a condition with a field")
		}
	case TemporalOrdered:
		if len(c.Condition) > 0 {
			return nil, unsupportedAt(cv, "temporal_ordered condition", "temporal_ordered with a condition: every rule must appear in order; drop the condition or use temporal")
		}
	}
	if c.Type != ValueCount && len(c.Field) > 0 {
		return nil, errAt(cv, "condition.field belongs to value_count")
	}
	return c, nil
}

func (rs *Ruleset) parseFilter(n *yaml.Node) (*Filter, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "filter must be a map")
	}
	f := &Filter{}
	_, v := get(n, "rules")
	if v == nil {
		return nil, errAt(n, "filter.rules is required")
	}
	rules, ok := scalarList(v)
	if !ok || len(rules) == 0 {
		return nil, errAt(v, "filter.rules must list rule ids or names")
	}
	f.Rules = rules
	// The rest of the section is a detection: selections and a condition.
	det := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "rules" {
			det.Content = append(det.Content, n.Content[i], n.Content[i+1])
		}
	}
	d, _, err := rs.comp.compileDetection(det, true)
	if err != nil {
		return nil, err
	}
	f.det = d
	return f, nil
}
