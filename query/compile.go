package query

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"

	qs "github.com/revertwatch/revertwatch/query/syntax"
)

// compiler checks and lowers a parsed query into a Program.
type compiler struct {
	opts    Options
	sem     Semantics
	errs    *qs.Errors
	depth   int
	tooDeep bool
	aliases map[string]bool
	notes   []string
	warns   []string
	// wildcards counts the * and ? of the bare scope terms compiled so
	// far, against maxTermWildcards.
	wildcards int
	// memos counts the tests given a memo of their own (newMemo).
	memos int
}

// newMemo numbers a pure test of one string whose answers each run may
// remember (record.memoTest).
func (c *compiler) newMemo() int {
	c.memos++
	return c.memos - 1
}

func (c *compiler) errorf(sp qs.Span, help, format string, args ...any) {
	c.errs.Add(sp, fmt.Sprintf(format, args...), help)
}

func (c *compiler) accessor(f *qs.FieldRef) *accessor {
	a := newAccessor(f.Name)
	if c.opts.NoSeedAliases && !strings.HasPrefix(a.alias, "_") {
		a.alias = ""
	}
	if a.alias != "" && c.aliases != nil {
		for _, n := range aliasNames() {
			if strings.EqualFold(n, f.Name) {
				c.aliases[n] = true
			}
		}
	}
	return a
}

// stageSpec is one lowered stage: its canonical text and a constructor
// for a fresh instance (stages with state get a new one per run).
type stageSpec struct {
	text    string
	origin  string // the stage as written, when lowering changed it
	make    func(w *warnings) any
	barrier bool
	// for dead-assignment removal
	assigns string   // the field an assignment writes
	reads   []string // fields read (lower-case)
	readAll bool     // reads every field (or is unknown)
	isAgg   bool
	span    qs.Span
	// perRecord marks a row stage that keeps no state from record to
	// record and reads nothing of their order: it may run in a reader's
	// decoding goroutines (Runner.NewWorker).
	perRecord bool
	// mergeable marks an aggregation whose partial states, one per
	// goroutine, merge into exactly the state one run in input order
	// builds (see parallelPrefix).
	mergeable bool
}

// Program is a compiled query. It is immutable; Run and NewRunner may be
// called any number of times, also concurrently.
type Program struct {
	src     string
	opts    Options
	query   *qs.Query
	scope   func(r *record) bool
	scopeTx string
	stages  []*stageSpec
	removed []string
	aliases []string
	notes   []string
	warns   []string
	hasAgg  bool
	// hide are the message columns a last allow-list fields stage did
	// not name (_raw, _messagetime): not shown, though the engine keeps
	// them as Sumo does.
	hide map[string]bool
	// groupBy are the fields of the last aggregation's by, as written,
	// checked after the run for a field no event had.
	groupBy []string
	// timeCols are the columns holding epoch milliseconds that table and
	// CSV output print as RFC 3339 times (lower-cased).
	timeCols map[string]bool
	// assigned are the fields the query's stages write, for a did you mean.
	assigned []string
	// parallel is set when the stages up to the first barrier may run
	// in the reader's goroutines (Runner.NewWorker).
	parallel bool
	memos    int // tests with a memo (compiler.newMemo)
}

// Compile parses, checks and plans a query. Errors are a *syntax.Errors
// that lists every problem with its position.
func Compile(src string, opts Options) (*Program, error) {
	q, err := qs.Parse(src)
	errs, _ := err.(*qs.Errors)
	if errs == nil {
		errs = &qs.Errors{Src: src}
		if err != nil {
			errs.Add(qs.Span{}, err.Error(), "")
		}
	}
	c := &compiler{opts: opts, sem: opts.Semantics, errs: errs, aliases: map[string]bool{}}
	p := &Program{src: src, opts: opts, query: q}
	if len(errs.List) == 0 || q != nil {
		c.lowerQuery(q, p)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	for _, n := range aliasNames() {
		if c.aliases[n] {
			p.aliases = append(p.aliases, n)
		}
	}
	p.notes = c.notes
	p.warns = c.warns
	p.memos = c.memos
	return p, nil
}

// Syntax returns the parsed query.
func (p *Program) Syntax() *qs.Query { return p.query }

// Warnings returns what the compiler noticed but accepted.
func (p *Program) Warnings() []string { return p.warns }

func (c *compiler) lowerQuery(q *qs.Query, p *Program) {
	if q.Scope != nil {
		p.scope = c.scope(q.Scope)
		p.scopeTx = q.Scope.String()
	}
	var specs []*stageSpec
	sortBefore := false
	for i, st := range q.Stages {
		for _, s := range c.stage(st, sortBefore, q.Stages[i+1:]) {
			if s != nil {
				specs = append(specs, s)
			}
		}
		switch st.(type) {
		case *qs.Sort:
			sortBefore = true
		case *qs.Aggregate:
			sortBefore = false
		}
	}
	for _, s := range specs {
		if s.isAgg {
			p.hasAgg = true
		}
		if s.assigns != "" {
			p.assigned = append(p.assigned, s.assigns)
		}
	}
	p.timeCols = map[string]bool{"_timeslice": true, "_messagetime": true, "_receipttime": true}
	for _, st := range q.Stages {
		switch st := st.(type) {
		case *qs.Fields:
			p.hide = nil
			if st.Sign != '-' {
				p.hide = map[string]bool{"_raw": true, "_messagetime": true}
				for _, n := range st.Names {
					delete(p.hide, strings.ToLower(n.Name))
				}
			}
		case *qs.Aggregate:
			p.hide, p.groupBy = nil, nil
			for _, b := range st.By {
				p.groupBy = append(p.groupBy, b.Name)
			}
		case *qs.Top:
			p.hide, p.groupBy = nil, nil
		case *qs.Timeslice:
			if st.As != nil {
				p.timeCols[strings.ToLower(st.As.Name)] = true
			}
		}
	}
	p.stages, p.removed = removeDeadAssignments(specs)
	p.parallel = parallelPrefix(p.stages)
}

// removeDeadAssignments drops assignments whose field nothing reads before
// the next aggregation discards it: the seed's AlertType (spec §11 step 6).
func removeDeadAssignments(specs []*stageSpec) ([]*stageSpec, []string) {
	live := map[string]bool{}
	all := true // rows reach the output: every field is live
	dead := make([]bool, len(specs))
	for i := len(specs) - 1; i >= 0; i-- {
		s := specs[i]
		switch {
		case s.isAgg:
			all = false
			live = map[string]bool{}
		case s.assigns != "" && !all && !live[strings.ToLower(s.assigns)]:
			dead[i] = true
			continue
		case s.assigns != "":
			delete(live, strings.ToLower(s.assigns))
		}
		if s.readAll {
			all = true
		}
		for _, r := range s.reads {
			live[r] = true
		}
	}
	var out []*stageSpec
	var removed []string
	for i, s := range specs {
		if dead[i] {
			removed = append(removed, s.text)
			continue
		}
		out = append(out, s)
	}
	return out, removed
}

// fieldsRead lists the field names an expression reads, lower-cased.
func fieldsRead(e qs.Node) []string {
	var out []string
	var walk func(n qs.Node)
	walk = func(n qs.Node) {
		switch n := n.(type) {
		case *qs.FieldRef:
			out = append(out, strings.ToLower(n.Name))
		case *qs.Unary:
			walk(n.X)
		case *qs.Binary:
			walk(n.L)
			walk(n.R)
		case *qs.In:
			walk(n.X)
			for _, x := range n.List {
				walk(x)
			}
		case *qs.Matches:
			walk(n.X)
			walk(n.Pattern)
		case *qs.Contains:
			walk(n.X)
			walk(n.Y)
		case *qs.Call:
			for _, x := range n.Args {
				walk(x)
			}
		case *qs.Cond:
			walk(n.C)
			walk(n.A)
			walk(n.B)
		case *qs.Paren:
			walk(n.X)
		}
	}
	walk(e)
	return out
}

func (c *compiler) stage(st qs.Stage, sortBefore bool, rest []qs.Stage) []*stageSpec {
	sem := c.sem
	switch s := st.(type) {
	case *qs.JSONAuto:
		return []*stageSpec{c.jsonAuto(s)}
	case *qs.JSONPath:
		return []*stageSpec{c.jsonPath(s)}
	case *qs.ParseStage:
		if s.Regex {
			return []*stageSpec{c.parseRegex(s)}
		}
		return []*stageSpec{c.parseAnchor(s)}
	case *qs.Where:
		x := c.expr(s.X)
		fn, bs := x.fn, sem.WhereBoolStrings
		return []*stageSpec{{text: "where " + x.text, reads: fieldsRead(s.X), span: s.Span, perRecord: true,
			make: func(w *warnings) any { return &whereStage{fn: fn, bs: bs, warn: w} }}}
	case *qs.AssignStage:
		return []*stageSpec{c.assignStage(s)}
	case *qs.Eval:
		if c.opts.Dialect == Strict {
			help := "write <expr> as <field>"
			if len(s.Targets) > 0 {
				help = "write " + shorten(s.Values[0].String()) + " as " + s.Targets[0].String()
			}
			c.errorf(qs.Span{Start: s.Span.Start, End: s.Span.Start + 4}, help, "eval is Splunk, not Sumo")
		}
		var out []*stageSpec
		for i, t := range s.Targets {
			x := c.expr(s.Values[i])
			out = append(out, c.assign(t, x, fieldsRead(s.Values[i]), s.Span))
			out[len(out)-1].origin = "eval " + t.String() + " = " + shorten(s.Values[i].String())
		}
		return out
	case *qs.Aggregate:
		return []*stageSpec{c.aggregate(s, sortBefore)}
	case *qs.Sort:
		return []*stageSpec{c.sortStage(s.Keys, s.Span)}
	case *qs.Top:
		return c.top(s)
	case *qs.Limit:
		return []*stageSpec{c.limit(s.N)}
	case *qs.Fields:
		return []*stageSpec{c.fields(s)}
	case *qs.Timeslice:
		return []*stageSpec{c.timeslice(s, rest)}
	case *qs.Lookup:
		return []*stageSpec{c.lookup(s)}
	}
	c.errorf(st.Pos(), "", "unsupported stage")
	return nil
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return qs.Clip(s, 57)
	}
	return s
}

func (c *compiler) assign(t *qs.FieldRef, x *cexpr, reads []string, sp qs.Span) *stageSpec {
	name, fn, remove := t.Name, x.fn, c.sem.NullAssignRemoves
	return &stageSpec{text: x.text + " as " + t.String(), assigns: name, reads: reads, span: sp, perRecord: true,
		make: func(*warnings) any { return &assignStage{name: name, fn: fn, remove: remove} }}
}

func (c *compiler) assignStage(s *qs.AssignStage) *stageSpec {
	if s.As != nil {
		return c.assign(s.As, c.expr(s.X), fieldsRead(s.X), s.Span)
	}
	call, ok := s.X.(*qs.Call)
	if ok {
		f := lookupFunction(call.Name)
		if f != nil && f.conversion && len(call.Args) == 1 {
			if ref, ok := call.Args[0].(*qs.FieldRef); ok {
				return c.assign(ref, c.expr(s.X), fieldsRead(s.X), s.Span)
			}
		}
	}
	x := c.expr(s.X)
	c.errorf(s.X.Pos(), "write "+shorten(x.text)+" as <field>", "missing as <field>: an expression stage must name its result")
	return nil
}

func (c *compiler) jsonAuto(s *qs.JSONAuto) *stageSpec {
	var field *accessor
	spec := &stageSpec{span: s.Span, reads: []string{"_raw"}, perRecord: true}
	if s.Field != nil {
		field = c.accessor(s.Field)
		spec.reads = []string{strings.ToLower(s.Field.Name)}
	}
	depth := c.sem.JSONMaxDepth
	if s.MaxDepth != nil {
		depth = int(s.MaxDepth.Value)
		if depth < 1 || float64(depth) != s.MaxDepth.Value {
			c.errorf(s.MaxDepth.Span, "", "maxdepth must be a positive whole number")
		}
	}
	var keys, as []string
	for _, k := range s.Keys {
		keys = append(keys, k.Value)
	}
	for _, a := range s.As {
		as = append(as, a.Name)
	}
	if len(as) > 0 && len(as) != len(keys) {
		c.errorf(s.Span, "", "json auto keys: %d keys but %d names after as", len(keys), len(as))
	}
	if len(keys) > 0 {
		spec.assigns = ""
	}
	spec.text = s.String()
	sem := c.sem
	ea := s.ExtractArrays
	spec.make = func(w *warnings) any {
		return &jsonAutoStage{field: field, maxDepth: depth, extractArrays: ea, keys: keys, as: as,
			fold: sem.FoldFieldNames, asStrings: !sem.JSONNativeTypes, fieldCap: sem.JSONFieldCap, warn: w}
	}
	return spec
}

func (c *compiler) jsonPath(s *qs.JSONPath) *stageSpec {
	var field *accessor
	if s.Field != nil {
		field = c.accessor(s.Field)
	}
	if len(s.As) > 0 && len(s.As) != len(s.Paths) {
		c.errorf(s.Span, "", "json: %d paths but %d names after as", len(s.Paths), len(s.As))
	}
	var paths [][]pathStep
	var names []string
	for i, p := range s.Paths {
		steps, ok := parsePath(p.Value)
		if !ok {
			c.errorf(p.Span, `paths look like a.b, a[0], ['key.with.dots'] or a[*].b`, "malformed JSON path %s", qs.Clip(p.String(), maxQuoted))
		}
		paths = append(paths, steps)
		name := p.Value
		if i < len(s.As) {
			name = s.As[i].Name
		}
		names = append(names, name)
	}
	nodrop := s.NoDrop
	return &stageSpec{text: s.String(), span: s.Span, readAll: true, perRecord: true, make: func(*warnings) any {
		return &jsonPathStage{field: field, paths: paths, names: names, nodrop: nodrop}
	}}
}

func (c *compiler) parseAnchor(s *qs.ParseStage) *stageSpec {
	var field *accessor
	if s.Field != nil {
		field = c.accessor(s.Field)
	}
	pat := s.Patterns[0]
	if strings.Contains(pat.Value, "**") {
		c.errorf(pat.Span, "separate the captures with a literal anchor", "** in a parse pattern")
	}
	parts := strings.Split(pat.Value, "*")
	names := make([]string, len(s.As))
	for i, a := range s.As {
		names[i] = a.Name
	}
	if len(parts)-1 != len(names) {
		c.errorf(pat.Span, "give one name per *", "the pattern has %d * but %d names follow as", len(parts)-1, len(names))
	}
	if len(parts) == 1 {
		c.errorf(pat.Span, "mark each value to capture with *", "the parse pattern has no *")
	}
	nodrop, fold := s.NoDrop, c.sem.ParseAnchorsFold
	return &stageSpec{text: s.String(), span: s.Span, readAll: true, perRecord: true, make: func(*warnings) any {
		return &anchorStage{field: field, parts: parts, names: names, nodrop: nodrop, fold: fold}
	}}
}

func (c *compiler) parseRegex(s *qs.ParseStage) *stageSpec {
	var field *accessor
	if s.Field != nil {
		field = c.accessor(s.Field)
	}
	var res []*regexp.Regexp
	for _, p := range s.Patterns {
		re, err := compileRegex(p.Value, false)
		if err != nil {
			c.regexError(p.Span, err)
			continue
		}
		c.checkGroups(p, re)
		res = append(res, re)
	}
	if s.Multi && len(s.Patterns) > 1 {
		c.errorf(s.Span, "", "multi takes a single pattern")
	}
	nodrop, multi := s.NoDrop, s.Multi
	return &stageSpec{text: s.String(), span: s.Span, readAll: true, perRecord: !multi, make: func(*warnings) any {
		st := &regexStage{field: field, res: res, nodrop: nodrop, multi: multi}
		if multi {
			return regexMulti{st}
		}
		return st
	}}
}

// checkGroups enforces spec §5.3: at least one named group, no unnamed
// capturing group, no named group inside another.
func (c *compiler) checkGroups(p *qs.StringLit, re *regexp.Regexp) {
	tree, err := syntax.Parse(p.Value, syntax.Perl)
	if err != nil {
		return
	}
	named, unnamed, nested := 0, 0, false
	var walk func(t *syntax.Regexp, inNamed bool)
	walk = func(t *syntax.Regexp, inNamed bool) {
		if t.Op == syntax.OpCapture {
			if t.Name == "" {
				unnamed++
			} else {
				named++
				if inNamed {
					nested = true
				}
				inNamed = true
			}
		}
		for _, s := range t.Sub {
			walk(s, inNamed)
		}
	}
	walk(tree, false)
	switch {
	case unnamed > 0:
		c.errorf(p.Span, "use (?:…) for grouping, or name the group (?<name>…)", "the regex has an unnamed capturing group")
	case named == 0:
		c.errorf(p.Span, "name what to extract: (?<name>…)", "the regex has no named group")
	case nested:
		c.errorf(p.Span, "", "named groups may not be nested")
	}
	_ = re
}

func aggDefaultName(fn string) string { return "_" + fn }

func (c *compiler) aggregate(s *qs.Aggregate, sortBefore bool) *stageSpec {
	if s.Stats && c.opts.Dialect == Strict {
		c.errorf(qs.Span{Start: s.Span.Start, End: s.Span.Start + 5}, "drop it: Sumo writes "+shorten(strings.TrimPrefix(s.String(), "stats ")), "stats is Splunk, not Sumo")
	}
	spec := &stageSpec{span: s.Span, barrier: true, isAgg: true}
	keys := make([]*accessor, len(s.By))
	keyNames := make([]string, len(s.By))
	seen := map[string]bool{}
	for i, b := range s.By {
		keys[i] = c.accessor(b)
		keyNames[i] = b.Name
		spec.reads = append(spec.reads, strings.ToLower(b.Name))
		seen[strings.ToLower(b.Name)] = true
	}
	items := s.Items
	if s.Shorthand {
		items = []*qs.AggItem{{Func: "count", Name: "count", Span: s.Span}}
	}
	var aggs []*aggFunc
	for _, it := range items {
		a := &aggFunc{fn: it.Func, name: aggDefaultName(it.Func)}
		if it.As != nil {
			a.name = it.As.Name
		}
		if seen[strings.ToLower(a.name)] {
			if it.As == nil {
				c.errorf(it.Span, "add as <name> to one of them", "alias required: %s gives a second column named %s", it.Func, qs.Clip(a.name, maxQuoted))
			} else {
				c.errorf(it.As.Span, "choose another name", "column %s is defined twice", qs.Clip(a.name, maxQuoted))
			}
		}
		seen[strings.ToLower(a.name)] = true
		if it.Arg != nil {
			if _, isField := it.Arg.(*qs.FieldRef); !isField && !(s.Stats && it.Func == "count" && c.sem.ExprInAggWithStats) {
				c.errorf(it.Arg.Pos(), "compute it first: | "+shorten(it.Arg.String())+" as x | "+it.Func+"(x)", "aggregates take a field, not an expression")
			}
			x := c.expr(it.Arg)
			a.arg = x.fn
			a.text = it.Func + "(" + x.text + ")"
			spec.reads = append(spec.reads, fieldsRead(it.Arg)...)
		} else {
			a.text = "count"
			if it.Func != "count" {
				c.errorf(it.Span, "", "%s needs an argument", it.Func)
			}
		}
		aggs = append(aggs, a)
	}
	var texts []string
	for _, a := range aggs {
		texts = append(texts, a.text+" as "+fieldText(a.name))
	}
	spec.text = strings.Join(texts, ", ")
	if len(keyNames) > 0 {
		var kt []string
		for _, b := range s.By {
			kt = append(kt, b.String())
		}
		spec.text += " by " + strings.Join(kt, ", ")
	}
	if s.Stats {
		spec.origin = "stats …"
	}
	sem := c.sem
	spec.mergeable = sem.SortGroups
	for _, a := range aggs {
		spec.mergeable = spec.mergeable && mergeableAgg[a.fn]
	}
	spec.make = func(w *warnings) any {
		st := &aggStage{keys: keys, keyNames: keyNames, keepNull: sem.KeepNullGroups, emptyRow: sem.EmptyCountRow, sortGroups: sem.SortGroups}
		st.aggs = aggs
		for _, a := range aggs {
			st.cols = append(st.cols, aggColumnFor(a.fn, a.arg != nil, sortBefore, sem, w))
		}
		return st
	}
	return spec
}

func fieldText(name string) string {
	return (&qs.FieldRef{Name: name, Form: formFor(name)}).String()
}

var bareName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

func formFor(name string) qs.FieldForm {
	if bareName.MatchString(name) {
		return qs.BareName
	}
	return qs.QuotedName
}

// aggColumnFor returns a new column of the aggregate fn for one stage.
func aggColumnFor(fn string, hasArg, sortBefore bool, sem Semantics, w *warnings) aggColumn {
	switch fn {
	case "count":
		return &countColumn{nonNull: hasArg && sem.CountFieldNonNull}
	case "count_distinct":
		return &stateColumn{mk: func() aggState { return &countDistinct{} }}
	case "values":
		return newValuesColumn(sem.ValuesCap, w)
	case "first", "last":
		last := fn == "last"
		return &stateColumn{mk: func() aggState { return &firstLast{last: last, byArrival: sortBefore} }}
	}
	return &stateColumn{mk: func() aggState { return &numericAgg{fn: fn} }}
}

func (c *compiler) sortStage(keys []*qs.SortKey, sp qs.Span) *stageSpec {
	ks := make([]sortKey, len(keys))
	var texts, reads []string
	for i, k := range keys {
		ks[i] = sortKey{a: c.accessor(k.Field), desc: k.Desc()}
		dir := "asc"
		if ks[i].desc {
			dir = "desc"
		}
		texts = append(texts, k.Field.String()+" "+dir)
		reads = append(reads, strings.ToLower(k.Field.Name))
	}
	nl := c.sem.NullsLast
	return &stageSpec{text: "sort by " + strings.Join(texts, ", "), barrier: true, reads: reads, readAll: true, span: sp,
		make: func(*warnings) any { return &sortStage{keys: ks, nullsLast: nl} }}
}

func (c *compiler) limit(n *qs.NumberLit) *stageSpec {
	if n.Value < 0 || n.Value != float64(int64(n.Value)) {
		c.errorf(n.Span, "", "limit takes a whole number")
	}
	if n.Value > 10000 {
		c.warns = append(c.warns, fmt.Sprintf("limit %s is above Sumo's cap of 10000; the local engine applies it as written", n.Text))
	}
	v := int64(n.Value)
	return &stageSpec{text: "limit " + n.Text, make: func(*warnings) any { return &limitStage{n: v} }}
}

func (c *compiler) top(s *qs.Top) []*stageSpec {
	if s.By != nil {
		c.errorf(s.By.Span, "write count by "+s.By.Name+" | sort by _count | limit N", "top … by is not supported")
	}
	agg := &qs.Aggregate{StageBase: s.StageBase, Items: []*qs.AggItem{{Func: "count", Name: "count", Span: s.Span}}, ByWord: "by", By: s.Fields}
	out := []*stageSpec{c.aggregate(agg, false)}
	out = append(out, c.sortStage([]*qs.SortKey{{Field: &qs.FieldRef{Name: "_count"}, Dir: "desc"}}, s.Span))
	out = append(out, c.limit(s.N))
	out[0].origin = s.String()
	return out
}

func (c *compiler) fields(s *qs.Fields) *stageSpec {
	seen := map[string]bool{}
	names := make([]*accessor, len(s.Names))
	for i, n := range s.Names {
		if seen[strings.ToLower(n.Name)] {
			c.errorf(n.Span, "", "field %s is listed twice", qs.Clip(n.Name, maxQuoted))
		}
		seen[strings.ToLower(n.Name)] = true
		names[i] = c.accessor(n)
	}
	deny := s.Sign == '-'
	return &stageSpec{text: s.String(), readAll: true, span: s.Span, perRecord: true, make: func(*warnings) any { return &fieldsStage{names: names, deny: deny} }}
}

func (c *compiler) timeslice(s *qs.Timeslice, rest []qs.Stage) *stageSpec {
	name := "_timeslice"
	if s.As != nil {
		name = s.As.Name
	}
	agg := false
	for _, st := range rest {
		if _, ok := st.(*qs.Aggregate); ok {
			agg = true
		}
		if _, ok := st.(*qs.Top); ok {
			agg = true
		}
	}
	if !agg {
		c.warns = append(c.warns, "timeslice without a later aggregation: Sumo expects one (count by _timeslice)")
	}
	if s.Buckets {
		n := int64(s.Width.Value)
		if n < 1 || float64(n) != s.Width.Value {
			c.errorf(s.Width.Span, "", "the number of buckets must be a positive whole number")
			n = 1
		}
		return &stageSpec{text: s.String(), barrier: true, readAll: true, span: s.Span,
			make: func(*warnings) any { return &bucketStage{n: n, name: name} }}
	}
	if !qs.IsDuration(s.Width.Text) || s.Width.Value < 1 {
		c.errorf(s.Width.Span, "write a duration such as 1m, 15m, 1h or 1d, or N buckets", "timeslice needs a duration")
	}
	w := int64(s.Width.Value)
	return &stageSpec{text: s.String(), readAll: true, span: s.Span, perRecord: true,
		make: func(*warnings) any { return &timesliceStage{width: w, name: name} }}
}

func (c *compiler) lookup(s *qs.Lookup) *stageSpec {
	path := lookupPath(s.Source)
	if !filepath.IsAbs(path) && c.opts.LookupDir != "" {
		path = filepath.Join(c.opts.LookupDir, path)
	}
	tbl, err := readTable(path)
	if err != nil {
		c.errorf(qs.Span{Start: s.Span.Start, End: s.Span.End}, "lookup tables are local CSV files with a header row", "lookup table: %v", err)
		return nil
	}
	var on []*accessor
	var cols []int
	for _, o := range s.On {
		on = append(on, c.accessor(o.Field))
		ci := tbl.column(o.Column.Name)
		if ci < 0 {
			c.errorf(o.Column.Span, "the table has "+strings.Join(tbl.header, ", "), "the lookup table has no column %s", qs.Clip(o.Column.Name, maxQuoted))
		}
		cols = append(cols, ci)
	}
	var outCols []int
	var outNames []string
	if s.Star {
		for i, h := range tbl.header {
			outCols = append(outCols, i)
			outNames = append(outNames, h)
		}
	}
	for _, col := range s.Cols {
		ci := tbl.column(col.Name.Name)
		if ci < 0 {
			c.errorf(col.Name.Span, "the table has "+strings.Join(tbl.header, ", "), "the lookup table has no column %s", qs.Clip(col.Name.Name, maxQuoted))
		}
		outCols = append(outCols, ci)
		name := col.Name.Name
		if col.As != nil {
			name = col.As.Name
		}
		outNames = append(outNames, name)
	}
	if len(c.errs.List) > 0 {
		return &stageSpec{text: s.String(), make: func(*warnings) any { return &limitStage{n: 1 << 62} }}
	}
	idx := tbl.index(cols, c.sem.LookupFirstMatch)
	return &stageSpec{text: s.String(), readAll: true, span: s.Span, perRecord: true, make: func(*warnings) any {
		return &lookupStage{on: on, index: idx, rows: tbl.rows, cols: outCols, names: outNames}
	}}
}

// lookupPath turns a lookup source (path://"x.csv", "x.csv" or x.csv)
// into a file path.
func lookupPath(src string) string {
	src = strings.TrimPrefix(src, "path://")
	src = strings.TrimPrefix(src, "file://")
	if len(src) >= 2 && src[0] == '"' && src[len(src)-1] == '"' {
		src = src[1 : len(src)-1]
	}
	return src
}

type table struct {
	header []string
	rows   [][]string
}

func readTable(path string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(io.LimitReader(f, 256<<20))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty (a header row is required)", path)
	}
	return &table{header: recs[0], rows: recs[1:]}, nil
}

func (t *table) column(name string) int {
	for i, h := range t.header {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return i
		}
	}
	return -1
}

// index maps the lower-cased join values to a row (spec §5.10: join
// values match case-insensitively; the first row wins by default).
func (t *table) index(cols []int, first bool) map[string]int {
	idx := map[string]int{}
	for ri, row := range t.rows {
		var b strings.Builder
		for _, ci := range cols {
			if ci < len(row) {
				b.WriteString(strings.ToLower(row[ci]))
			}
			b.WriteByte(0)
		}
		k := b.String()
		if _, ok := idx[k]; ok && first {
			continue
		}
		idx[k] = ri
	}
	return idx
}
