package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/suggest"
)

// detection is a compiled detection section (of a rule or a filter).
type detection struct {
	searches map[string]*search
	ids      []string // sorted
	cond     *cond    // the conditions, or-ed
}

// search is one search identifier: an OR of field maps, or keywords.
type search struct {
	name     string
	maps     [][]*fieldMatcher
	keywords []*pattern
	kwAll    bool
}

// fieldMatcher is one "field|modifiers: values" entry of a map.
type fieldMatcher struct {
	field    string
	mods     []string
	all      bool
	neq      bool
	exists   int8 // 0 not an exists test; 1 must exist; -1 must not
	null     bool // the value is null: absent or JSON null
	vals     []matcher
	fieldref []string // fieldref: the other fields
	refMode  string   // fieldref with contains, startswith or endswith
	cased    bool
}

// compileError is a detection problem at a YAML node.
type compileError struct {
	node      *yaml.Node
	msg       string
	construct string
}

func (e *compileError) Error() string { return e.msg }

func errAt(n *yaml.Node, format string, a ...any) *compileError {
	return &compileError{node: n, msg: fmt.Sprintf(format, a...)}
}

func unsupportedAt(n *yaml.Node, construct, format string, a ...any) *compileError {
	return &compileError{node: n, msg: fmt.Sprintf(format, a...), construct: construct}
}

// compiler holds what compiling a detection needs.
type compiler struct {
	placeholders map[string][]string
}

// compileDetection compiles a detection map: the search identifiers and
// the condition (a string or a list of strings, or-ed).
func (c *compiler) compileDetection(n *yaml.Node, condRequired bool) (*detection, *yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, nil, errAt(n, "detection must be a map of search identifiers and a condition")
	}
	d := &detection{searches: map[string]*search{}}
	var condNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "condition" {
			condNode = v
			continue
		}
		if k.Value == "timeframe" {
			return nil, nil, unsupportedAt(k, "detection.timeframe", "timeframe belongs to the Sigma 1.0 aggregation syntax; use a correlation rule with timespan")
		}
		if _, dup := d.searches[k.Value]; dup {
			return nil, nil, errAt(k, "search identifier %q defined twice", k.Value)
		}
		s, err := c.compileSearch(k.Value, v)
		if err != nil {
			return nil, nil, err
		}
		d.searches[k.Value] = s
		d.ids = append(d.ids, k.Value)
	}
	sort.Strings(d.ids)
	if condNode == nil {
		if condRequired {
			return nil, nil, errAt(n, "detection has no condition")
		}
		return d, nil, nil
	}
	var conds []string
	var nodes []*yaml.Node
	switch condNode.Kind {
	case yaml.ScalarNode:
		conds, nodes = []string{condNode.Value}, []*yaml.Node{condNode}
	case yaml.SequenceNode:
		for _, x := range condNode.Content {
			if x.Kind != yaml.ScalarNode {
				return nil, nil, errAt(x, "condition list items must be strings")
			}
			conds = append(conds, x.Value)
			nodes = append(nodes, x)
		}
	default:
		return nil, nil, errAt(condNode, "condition must be a string or a list of strings")
	}
	if len(conds) == 0 {
		return nil, nil, errAt(condNode, "empty condition")
	}
	var all []*cond
	for i, s := range conds {
		cd, err := parseCondition(s, d.ids)
		if err != nil {
			ce := err.(*condError)
			at := *nodes[i]
			if at.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				at.Column++
			}
			if !strings.Contains(s, "\n") {
				at.Column += ce.pos
			}
			return nil, nil, &compileError{node: &at, msg: "condition: " + ce.msg, construct: ce.construct}
		}
		all = append(all, cd)
	}
	if len(all) == 1 {
		d.cond = all[0]
	} else {
		d.cond = &cond{op: condOr, kids: all}
	}
	return d, condNode, nil
}

func (c *compiler) compileSearch(name string, v *yaml.Node) (*search, error) {
	s := &search{name: name}
	switch v.Kind {
	case yaml.MappingNode:
		// A map whose only key is "|all" holds keywords that must all appear.
		if len(v.Content) == 2 && v.Content[0].Value == "|all" {
			s.kwAll = true
			return s, c.keywords(s, v.Content[1])
		}
		fm, err := c.compileMap(v)
		if err != nil {
			return nil, err
		}
		s.maps = [][]*fieldMatcher{fm}
		return s, nil
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, errAt(v, "search identifier %q is an empty list", name)
		}
		maps, scalars := 0, 0
		for _, x := range v.Content {
			switch x.Kind {
			case yaml.MappingNode:
				maps++
			case yaml.ScalarNode:
				scalars++
			default:
				return nil, errAt(x, "search identifier %q: a list holds strings (keywords) or maps", name)
			}
		}
		if maps > 0 && scalars > 0 {
			return nil, errAt(v, "search identifier %q mixes keywords and maps in one list", name)
		}
		if scalars > 0 {
			return s, c.keywords(s, v)
		}
		for _, x := range v.Content {
			fm, err := c.compileMap(x)
			if err != nil {
				return nil, err
			}
			s.maps = append(s.maps, fm)
		}
		return s, nil
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, errAt(v, "search identifier %q is empty", name)
		}
		// Not allowed by the schema, but unambiguous: one keyword.
		return s, c.keywords(s, &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{v}, Line: v.Line, Column: v.Column})
	}
	return nil, errAt(v, "search identifier %q must be a map or a list", name)
}

func (c *compiler) keywords(s *search, v *yaml.Node) error {
	items := v.Content
	if v.Kind == yaml.ScalarNode {
		items = []*yaml.Node{v}
	}
	for _, x := range items {
		if x.Kind != yaml.ScalarNode || x.Tag == "!!null" {
			return errAt(x, "keyword must be a string")
		}
		toks := parseWildcards(x.Value)
		// A keyword is found anywhere in a value.
		if len(toks) == 0 || !toks[0].star {
			toks = append([]token{{star: true}}, toks...)
		}
		if !toks[len(toks)-1].star {
			toks = append(toks, token{star: true})
		}
		s.keywords = append(s.keywords, newPattern(toks, false, x.Value))
	}
	if len(s.keywords) == 0 {
		return errAt(v, "no keywords")
	}
	return nil
}

func (c *compiler) compileMap(m *yaml.Node) ([]*fieldMatcher, error) {
	if len(m.Content) == 0 {
		return nil, errAt(m, "empty map")
	}
	var out []*fieldMatcher
	for i := 0; i+1 < len(m.Content); i += 2 {
		fm, err := c.compileField(m.Content[i], m.Content[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, fm)
	}
	return out, nil
}

// compileField compiles one "field|mod|mod: value(s)" entry.
func (c *compiler) compileField(k, v *yaml.Node) (*fieldMatcher, error) {
	parts := strings.Split(k.Value, "|")
	fm := &fieldMatcher{field: parts[0], mods: parts[1:]}
	if fm.field == "" {
		return nil, unsupportedAt(k, "keyword modifiers", "a map key without a field name (%q): keywords with modifiers other than |all", k.Value)
	}
	for _, m := range fm.mods {
		if !knownModifier(m) {
			if best := suggest.Closest(m, Modifiers); best != "" && len(m) > 3 {
				return nil, unsupportedAt(k, "modifier |"+m, "unknown modifier |%s on %s; help: did you mean |%s?", m, fm.field, best)
			}
			return nil, unsupportedAt(k, "modifier |"+m, "unknown modifier |%s on %s", m, fm.field)
		}
	}
	// The values: a scalar, null, or a list of scalars.
	var raw []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		raw = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, errAt(v, "%s: empty list of values", fm.field)
		}
		for _, x := range v.Content {
			if x.Kind != yaml.ScalarNode {
				return nil, errAt(x, "%s: values must be strings, numbers or booleans", fm.field)
			}
			if x.Tag == "!!null" {
				return nil, errAt(x, "%s: null cannot be part of a list of values (use its own selection)", fm.field)
			}
		}
		raw = v.Content
	default:
		return nil, errAt(v, "%s: a value must be a scalar or a list of scalars", fm.field)
	}
	has := func(m string) bool {
		for _, x := range fm.mods {
			if x == m {
				return true
			}
		}
		return false
	}
	fm.cased = has("cased")
	fm.all = has("all")
	fm.neq = has("neq")
	if fm.all && len(raw) < 2 {
		// The appendix forbids |all on one value; it means the same as none.
		_ = fm
	}
	if has("exists") {
		if len(fm.mods) != 1 || len(raw) != 1 || raw[0].Tag != "!!bool" {
			return nil, errAt(v, "%s|exists takes one boolean and no other modifier", fm.field)
		}
		fm.exists = -1
		if b, _ := strconv.ParseBool(raw[0].Value); b {
			fm.exists = 1
		}
		return fm, nil
	}
	if len(raw) == 1 && raw[0].Tag == "!!null" {
		if len(fm.mods) > 0 {
			return nil, errAt(v, "%s: null takes no modifiers", fm.field)
		}
		fm.null = true
		return fm, nil
	}
	if has("fieldref") {
		for _, m := range fm.mods {
			switch m {
			case "fieldref", "cased", "neq", "all":
			case "contains", "startswith", "endswith":
				fm.refMode = m
			default:
				return nil, unsupportedAt(k, "modifier |fieldref|"+m, "|fieldref combined with |%s", m)
			}
		}
		for _, x := range raw {
			fm.fieldref = append(fm.fieldref, x.Value)
		}
		return fm, nil
	}
	specs := make([]valueSpec, len(raw))
	for i, x := range raw {
		specs[i] = valueSpec{s: x.Value}
	}
	kind := "string" // string, re, cidr, num
	var reFlags string
	var numOp, timePart string
	wrapPre, wrapPost := false, false
	for _, m := range fm.mods {
		switch m {
		case "all", "cased", "neq":
		case "expand":
			var next []valueSpec
			for _, s := range specs {
				x, err := expandPlaceholders(s.s, c.placeholders)
				if err != nil {
					return nil, unsupportedAt(k, "modifier |expand", "%s|expand: %v (configure it under placeholders in the mapping file)", fm.field, err)
				}
				next = append(next, x...)
			}
			specs = next
		case "windash":
			var next []valueSpec
			for _, s := range specs {
				ws, err := windash(s.s)
				if err != nil {
					return nil, errAt(v, "%s: %v", fm.field, err)
				}
				for _, w := range ws {
					next = append(next, valueSpec{s: w, literal: s.literal})
				}
			}
			specs = next
		case "base64", "base64offset":
			if wrapPre || wrapPost {
				return nil, errAt(k, "%s: |%s must come before contains, startswith or endswith", fm.field, m)
			}
			var next []valueSpec
			for _, s := range specs {
				if m == "base64" {
					next = append(next, valueSpec{s: base64.StdEncoding.EncodeToString([]byte(s.s)), literal: true})
					continue
				}
				for _, o := range base64Offsets(s.s) {
					next = append(next, valueSpec{s: o, literal: true})
				}
			}
			specs = next
		case "utf16le", "wide", "utf16be", "utf16":
			for i := range specs {
				specs[i] = valueSpec{s: utf16Bytes(specs[i].s, m == "utf16be", m == "utf16"), literal: true}
			}
		case "contains":
			wrapPre, wrapPost = true, true
		case "startswith":
			wrapPost = true
		case "endswith":
			wrapPre = true
		case "re":
			kind = "re"
		case "i", "m", "s":
			if kind != "re" {
				return nil, errAt(k, "%s: |%s is a flag of |re and must follow it", fm.field, m)
			}
			reFlags += m
		case "cidr":
			kind = "cidr"
		case "lt", "lte", "gt", "gte":
			kind, numOp = "num", m
		case "minute", "hour", "day", "week", "month", "year":
			timePart = m
		default:
			return nil, unsupportedAt(k, "modifier |"+m, "modifier |%s is not supported here", m)
		}
	}
	if kind != "string" && (wrapPre || wrapPost) {
		return nil, errAt(k, "%s: contains, startswith and endswith apply to plain strings, not |%s", fm.field, kind)
	}
	for _, s := range specs {
		var mt matcher
		switch kind {
		case "re":
			expr := s.s
			if reFlags != "" {
				expr = "(?" + reFlags + ")" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, errAt(v, "%s|re: %v", fm.field, err)
			}
			mt = newReMatcher(re)
		case "cidr":
			p, err := netip.ParsePrefix(strings.TrimSpace(s.s))
			if err != nil {
				return nil, errAt(v, "%s|cidr: %v", fm.field, err)
			}
			mt = cidrMatcher{p.Masked()}
		case "num":
			f, err := strconv.ParseFloat(strings.TrimSpace(s.s), 64)
			if err != nil {
				return nil, errAt(v, "%s|%s: %q is not a number", fm.field, numOp, s.s)
			}
			mt = numMatcher{op: numOp, v: f}
		default:
			var toks []token
			if s.literal {
				if s.s != "" {
					toks = []token{{lit: s.s}}
				}
			} else {
				toks = parseWildcards(s.s)
			}
			if wrapPre && (len(toks) == 0 || !toks[0].star) {
				toks = append([]token{{star: true}}, toks...)
			}
			if wrapPost && (len(toks) == 0 || !toks[len(toks)-1].star) {
				toks = append(toks, token{star: true})
			}
			if timePart != "" {
				f, err := strconv.ParseFloat(strings.TrimSpace(s.s), 64)
				if err != nil {
					return nil, errAt(v, "%s|%s: %q is not a number", fm.field, timePart, s.s)
				}
				mt = numMatcher{op: "eq", v: f}
			} else {
				mt = newPattern(toks, fm.cased, s.s)
			}
		}
		if timePart != "" {
			mt = timeMatcher{part: timePart, next: mt}
		}
		fm.vals = append(fm.vals, mt)
	}
	return fm, nil
}

// evalCtx is one record being matched.
type evalCtx struct {
	d      *doc
	format event.Format
	res    *resolver
	buf    []leaf
	buf2   []leaf
	// The searches of the detection being matched already evaluated on
	// the record (detection.match): its condition may name one twice.
	det      *detection
	searched []searched
	search   func(string) bool // e.searchOnce, made once
}

// searched is a search's outcome on the record.
type searched struct {
	name string
	hit  bool
}

func newEvalCtx(d *doc, format event.Format, res *resolver) *evalCtx {
	e := &evalCtx{d: d, format: format, res: res}
	e.search = e.searchOnce
	return e
}

// values returns the values of a rule's field on the record, resolved
// once a record (doc.memo): the slice is the caller's to read, not to
// append to.
func (e *evalCtx) values(field string) ([]leaf, bool) {
	if vals, present, ok := e.d.memoised(field); ok {
		return vals, present
	}
	e.d.parsedInner = false
	vals, ok := e.res.values(e.d, e.format, field, e.buf[:0])
	e.buf = vals
	return e.d.keep(field, vals, ok), ok
}

// searchOnce evaluates the search name of the detection being matched,
// once a match.
func (e *evalCtx) searchOnce(name string) bool {
	for _, s := range e.searched {
		if s.name == name {
			return s.hit
		}
	}
	s := e.det.searches[name]
	hit := s != nil && s.match(e)
	e.searched = append(e.searched, searched{name: name, hit: hit})
	return hit
}

func (s *search) match(e *evalCtx) bool {
	if len(s.keywords) > 0 {
		if e.d == nil || e.d.root == nil {
			return false
		}
		for _, kw := range s.keywords {
			hit := e.d.mayContain(kw) && walkStrings(e.d.root, kw.match)
			if s.kwAll && !hit {
				return false
			}
			if !s.kwAll && hit {
				return true
			}
		}
		return s.kwAll
	}
	for _, m := range s.maps {
		ok := true
		for _, fm := range m {
			if !fm.match(e) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (fm *fieldMatcher) match(e *evalCtx) bool {
	vals, present := e.values(fm.field)
	switch {
	case fm.exists != 0:
		return present == (fm.exists > 0)
	case fm.null:
		if !present {
			return true
		}
		for _, v := range vals {
			if v.kind == leafNull {
				return true
			}
		}
		return false
	case fm.fieldref != nil:
		return fm.matchRef(e, vals)
	}
	if !present {
		return false
	}
	if fm.neq {
		// The field is present and none of its values is any of these.
		for _, m := range fm.vals {
			for _, v := range vals {
				if m.matchLeaf(v) {
					return false
				}
			}
		}
		return true
	}
	for _, m := range fm.vals {
		hit := false
		for _, v := range vals {
			if m.matchLeaf(v) {
				hit = true
				break
			}
		}
		if fm.all && !hit {
			return false
		}
		if !fm.all && hit {
			return true
		}
	}
	return fm.all
}

func (fm *fieldMatcher) matchRef(e *evalCtx, vals []leaf) bool {
	mine := append([]leaf(nil), vals...)
	for _, ref := range fm.fieldref {
		other, ok := e.res.values(e.d, e.format, ref, e.buf2[:0])
		e.buf2 = other
		hit := false
		if ok {
			for _, a := range mine {
				for _, b := range other {
					if a.kind == leafNull || b.kind == leafNull {
						continue
					}
					x, y := a.s, b.s
					if !fm.cased {
						x, y = lower(x), lower(y)
					}
					switch fm.refMode {
					case "contains":
						hit = hit || strings.Contains(x, y)
					case "startswith":
						hit = hit || strings.HasPrefix(x, y)
					case "endswith":
						hit = hit || strings.HasSuffix(x, y)
					default:
						hit = hit || x == y
					}
				}
			}
		}
		if fm.neq {
			hit = !hit && ok && len(mine) > 0
		}
		if fm.all && !hit {
			return false
		}
		if !fm.all && hit {
			return true
		}
	}
	return fm.all
}

// match evaluates the detection on a record.
func (d *detection) match(e *evalCtx) bool {
	e.det, e.searched = d, e.searched[:0]
	return d.cond.eval(e.search)
}
