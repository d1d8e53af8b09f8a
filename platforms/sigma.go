package platforms

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
	"github.com/revertwatch/revertwatch/sigma"
)

// SeedFalsePositives are the false positives the seed detection lists
// (T1578.004, Sumo Logic CSE); every exported rule carries them.
var SeedFalsePositives = []string{
	"Cloud administrators creating authorized snapshots for backup or migration",
	"Automated disaster recovery systems creating scheduled cloud snapshots",
	"DevOps pipelines creating and deleting compute instances as part of CI/CD",
	"Authorized cloud infrastructure migrations between regions or accounts",
}

// SigmaOptions tune ExportSigma.
type SigmaOptions struct {
	// Author of the rules; default "revertwatch".
	Author string
	// Date is the rules' date (YYYY-MM-DD); default SigmaDate.
	Date string
	// Status of the rules; default "experimental".
	Status string
}

// SigmaDate is the date exported rules carry unless told otherwise: the
// content's, not the export's, so that exports are byte for byte stable.
const SigmaDate = "2026-11-29"

// SigmaDocument is one exported Sigma rule.
type SigmaDocument struct {
	// Name is a file name following the Sigma conventions (lower case,
	// letters, digits and underscores, .yml).
	Name string
	Kind sigma.Kind
	ID   string
	// Ref is the rule's name, which correlations use to refer to it.
	Ref  string
	YAML []byte
}

// namespace is the UUIDv5 namespace of revertwatch's rule ids.
var namespace = uuid5([16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}, "revertwatch.sigma")

// SigmaRuleUUID is the stable id of an exported rule: a UUIDv5 of its name.
func SigmaRuleUUID(name string) string {
	u := uuid5(namespace, name)
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func uuid5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// sigmaPath writes a catalog path as a Sigma field of the raw record:
// CloudTrail bodies under requestParameters and responseElements, Azure
// bodies under properties.requestbody and properties.responseBody, and a
// list as its name (Sigma searches every member of a list; items[] is
// written items).
func sigmaPath(provider string, p catalog.Path) string {
	path := strings.ReplaceAll(p.Path, "[]", "")
	switch {
	case p.Body == catalog.Request && provider == event.GCP:
		return "protoPayload.request." + path
	case p.Body == catalog.Response && provider == event.GCP:
		return "protoPayload.response." + path
	case p.Body == catalog.Request && provider == event.Azure:
		return "properties.requestbody." + path
	case p.Body == catalog.Response && provider == event.Azure:
		return "properties.responseBody." + path
	case p.Body == catalog.Request:
		return "requestParameters." + path
	case p.Body == catalog.Response:
		return "responseElements." + path
	}
	return path
}

// pathsOf returns where step's operations keep field (from the field
// catalog); every operation of the step must keep it in the same place.
func pathsOf(provider string, ops []string, f sequence.Field) ([]catalog.Path, error) {
	var out []catalog.Path
	for i, op := range ops {
		p := catalog.Paths(provider, op, catalog.Key(f.String()))
		if len(p) == 0 {
			return nil, fmt.Errorf("no record path for %s in %s", f, op)
		}
		if i > 0 && fmt.Sprint(p) != fmt.Sprint(out) {
			return nil, fmt.Errorf("%s is kept in different places by %s and %s", f, ops[0], op)
		}
		out = p
	}
	return out, nil
}

// exporter builds the documents of one export.
type exporter struct {
	opt  SigmaOptions
	docs []SigmaDocument
}

// ExportSigma writes the revert detections as Sigma: one detection rule per
// step of a sequence and per native-revert API, and for each sequence a
// temporal_ordered correlation joining the steps on their keys with
// aliases (a chain of them when consecutive steps join on different
// keys). Output order and ids are stable.
func ExportSigma(ds []content.Detection, opt SigmaOptions) ([]SigmaDocument, error) {
	if opt.Author == "" {
		opt.Author = "revertwatch"
	}
	if opt.Date == "" {
		opt.Date = SigmaDate
	}
	if opt.Status == "" {
		opt.Status = "experimental"
	}
	x := &exporter{opt: opt}
	for i := range ds {
		if err := x.detection(&ds[i]); err != nil {
			return nil, fmt.Errorf("export %s: %w", ds[i].ID(), err)
		}
	}
	return x.docs, nil
}

// WriteSigma writes documents as one multi-document YAML stream.
func WriteSigma(w io.Writer, docs []SigmaDocument) error {
	for i, d := range docs {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(d.YAML); err != nil {
			return err
		}
	}
	return nil
}

func fileName(ref string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ref) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + ".yml"
}

func (x *exporter) detection(d *content.Detection) error {
	r := d.Rule
	if len(r.Steps) == 1 {
		s := r.Steps[0]
		det, err := stepDetection(s, true)
		if err != nil {
			return err
		}
		x.emit(sigma.KindDetection, r.ID, d.Title, d.Description, d, logsourceOf(s.Provider), det, nil, true)
		return nil
	}
	// One detection rule per step; they are not reported on their own.
	names := make([]string, len(r.Steps))
	for j, s := range r.Steps {
		det, err := stepDetection(s, false)
		if err != nil {
			return err
		}
		names[j] = r.ID + "." + s.Name
		title := fmt.Sprintf("%s: step %d of %d, %s", d.Title, j+1, len(r.Steps), strings.Join(s.Operations, " or "))
		desc := fmt.Sprintf("Step %q of the correlation %s; it is not an alert by itself.", s.Name, r.ID)
		x.emit(sigma.KindDetection, names[j], title, desc, d, logsourceOf(s.Provider), det, nil, false)
	}
	for _, c := range r.Context {
		if !c.Required {
			continue
		}
		// A required context becomes a step of its own, correlated with
		// the step it must precede (and the VM both name).
		det, err := stepDetection(sequence.Step{Name: c.Name, Provider: c.Provider, Operations: c.Operations, Where: c.Where}, false)
		if err != nil {
			return err
		}
		name := r.ID + "." + c.Name
		title := fmt.Sprintf("%s: %s (%s)", d.Title, c.Name, strings.Join(c.Operations, " or "))
		x.emit(sigma.KindDetection, name, title, fmt.Sprintf("Required context %q of the correlation %s.", c.Name, r.ID), d, logsourceOf(c.Provider), det, nil, false)
	}
	return x.correlations(d, names)
}

// correlations joins the steps: the last two by the keys they share, then
// each earlier step with the correlation of the steps after it, so that a
// chain whose hops join on different keys (snapshot, then volume) keeps
// every join.
func (x *exporter) correlations(d *content.Detection, names []string) error {
	r := d.Rule
	n := len(r.Steps)
	rest := names[n-1]
	for k := n - 2; k >= 0; k-- {
		corr, err := x.join(d, k, names, rest)
		if err != nil {
			return err
		}
		if k == n-2 {
			if corr, err = x.requiredContexts(d, k+1, names, corr); err != nil {
				return err
			}
		}
		ref := r.ID
		if k > 0 {
			ref = fmt.Sprintf("%s.chain%d", r.ID, k+1)
		}
		x.emit(sigma.KindCorrelation, ref, d.Title, d.Description, d, sigma.Logsource{}, nil, corr, k == 0)
		rest = ref
	}
	return nil
}

// requiredContexts folds a required context (a VM deallocated before its
// disk swap) into the last step: a correlation of the context and the
// step, grouped by the key they share and the caller, stands in for the
// step.
func (x *exporter) requiredContexts(d *content.Detection, last int, names []string, corr *yaml.Node) (*yaml.Node, error) {
	r := d.Rule
	step := r.Steps[last]
	for _, c := range r.Context {
		if !c.Required || c.Before != step.Name {
			continue
		}
		ctxName := r.ID + "." + c.Name
		pair := fmt.Sprintf("%s.%s-%s", r.ID, c.Name, c.Before)
		sp, err := pathsOf(step.Provider, step.Operations, c.Field)
		if err != nil {
			return nil, err
		}
		cp, err := pathsOf(c.Provider, c.Operations, c.Field)
		if err != nil {
			return nil, err
		}
		gb := []string{c.Binding}
		aliases := map[string]map[string]string{c.Binding: {ctxName: aliasPath(c.Provider, cp), names[last]: aliasPath(step.Provider, sp)}}
		callerC, errC := pathsOf(c.Provider, c.Operations, sequence.FieldCaller)
		callerS, errS := pathsOf(step.Provider, step.Operations, sequence.FieldCaller)
		if errC == nil && errS == nil {
			gb = append(gb, "caller")
			aliases["caller"] = map[string]string{ctxName: aliasPath(c.Provider, callerC), names[last]: aliasPath(step.Provider, callerS)}
		}
		pc := correlationNode(sigma.TemporalOrdered, []string{ctxName, names[last]}, gb, r.Window, aliases)
		x.emit(sigma.KindCorrelation, pair, fmt.Sprintf("%s: %s before %s", d.Title, c.Name, c.Before), "", d, sigma.Logsource{}, nil, pc, false)
		corr = replaceRule(corr, names[last], pair)
	}
	return corr, nil
}

// join builds the correlation of step k with rest (step k+1, or the
// correlation of the steps after k): grouped by scope and by every key
// step k binds that a later step joins on.
func (x *exporter) join(d *content.Detection, k int, names []string, rest string) (*yaml.Node, error) {
	r := d.Rule
	s := r.Steps[k]
	var gb []string
	aliases := map[string]map[string]string{}
	if s.Provider == event.AWS {
		gb = append(gb, "recipientAccountId", "awsRegion")
	}
	for _, b := range s.Bind {
		if b.Optional || contains(gb, b.Name) {
			continue
		}
		for j := k + 1; j < len(r.Steps) && !contains(gb, b.Name); j++ {
			for _, lb := range r.Steps[j].Bind {
				if lb.Name != b.Name || lb.Optional {
					continue
				}
				mine, err := pathsOf(s.Provider, s.Operations, b.Field)
				if err != nil {
					return nil, err
				}
				theirs, err := pathsOf(r.Steps[j].Provider, r.Steps[j].Operations, lb.Field)
				if err != nil {
					return nil, err
				}
				gb = append(gb, b.Name)
				aliases[b.Name] = map[string]string{names[k]: aliasPath(s.Provider, mine), rest: aliasPath(r.Steps[j].Provider, theirs)}
				break
			}
		}
	}
	if len(aliases) == 0 {
		return nil, fmt.Errorf("step %s shares no required key with the steps after it", s.Name)
	}
	return correlationNode(sigma.TemporalOrdered, []string{names[k], rest}, gb, r.Window, aliases), nil
}

// aliasPath picks the one path an alias can name: for a key Azure logs in
// the request body (Start) and the response body (Accept), the response,
// which is logged for every accepted write, while some exports drop the
// Start record.
func aliasPath(provider string, paths []catalog.Path) string {
	return sigmaPath(provider, paths[len(paths)-1])
}

func replaceRule(corr *yaml.Node, from, to string) *yaml.Node {
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Value == from {
			n.Value = to
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(corr)
	return corr
}

func logsourceOf(provider string) sigma.Logsource {
	if provider == event.GCP {
		return sigma.Logsource{Product: "gcp", Service: "gcp.audit"}
	}
	if provider == event.Azure {
		return sigma.Logsource{Product: "azure", Service: "activitylogs"}
	}
	return sigma.Logsource{Product: "aws", Service: "cloudtrail"}
}

// stepDetection writes a step as a detection section. alert is set for a
// rule reported on its own: for Azure it then requires the terminal
// (successful) record, where a correlation step takes the record that
// carries the request body.
func stepDetection(s sequence.Step, alert bool) (*yaml.Node, error) {
	det := mapping()
	sel := mapping()
	var conds []string
	if s.Provider == event.AWS {
		srcs := map[string]bool{}
		for _, op := range s.Operations {
			src := catalog.Source(op)
			if src == "" {
				return nil, fmt.Errorf("no eventSource for %s", op)
			}
			srcs[src] = true
		}
		var list []string
		for k := range srcs {
			list = append(list, k)
		}
		sort.Strings(list)
		add(sel, "eventSource", strList(list))
		add(sel, "eventName", strList(s.Operations))
		add(det, "selection", sel)
		conds = append(conds, "selection")
		// Failed and dry-run calls carry an errorCode.
		add(det, "selection_success", kv("errorCode", nullNode()))
		conds = append(conds, "selection_success")
	} else if s.Provider == event.GCP {
		// methodName carries the API version the client called
		// (v1.compute.instances.stop, beta.…, or none).
		add(sel, "protoPayload.methodName|endswith", strList(s.Operations))
		add(det, "selection", sel)
		conds = append(conds, "selection")
		// A long-running operation logs a first entry, with the request,
		// and a last one without it: the first stands for the call. A
		// failed call is one ERROR entry.
		add(det, "filter_failed", kv("severity", strList([]string{"ERROR", "CRITICAL", "ALERT", "EMERGENCY"})))
		add(det, "filter_last", kv("operation.last", boolNode(true)))
		conds = append(conds, "not filter_failed", "not filter_last")
	} else {
		ops := make([]string, len(s.Operations))
		for i, op := range s.Operations {
			ops[i] = azureOpName(op)
		}
		add(sel, "operationName", strList(ops))
		add(det, "selection", sel)
		conds = append(conds, "selection")
		if alert {
			add(det, "selection_success", kv("resultType", strList([]string{"Success", "Succeeded"})))
			conds = append(conds, "selection_success")
		} else {
			add(det, "filter_failed", kv("resultType", strList([]string{"Failure", "Failed"})))
			conds = append(conds, "not filter_failed")
		}
	}
	n := 0
	addCond := func(c sequence.Cond, negate bool) error {
		paths, err := pathsOf(s.Provider, s.Operations, c.Field)
		if err != nil {
			return err
		}
		n++
		prefix := fmt.Sprintf("selection_%s", strings.ReplaceAll(c.Field.String(), "-", "_"))
		if negate {
			prefix = fmt.Sprintf("filter_%s", strings.ReplaceAll(c.Field.String(), "-", "_"))
		}
		if s.Provider == event.GCP && c.Field == sequence.FieldRootDevice && c.Op == sequence.Present {
			// The boot disk: attachDisk's request says boot: true.
			add(det, prefix, kv("protoPayload.request.boot", boolNode(true)))
			conds = append(conds, prefix)
			return nil
		}
		for i, cp := range paths {
			p := sigmaPath(s.Provider, cp)
			key, val := p, (*yaml.Node)(nil)
			switch c.Op {
			case sequence.In, sequence.NotIn:
				val = strList(c.Values)
			case sequence.Present, sequence.Absent:
				val = str("?*")
			case sequence.Prefix:
				key, val = p+"|startswith", strList(c.Values)
			case sequence.Contains:
				key, val = p+"|contains", strList(c.Values)
			}
			name := prefix
			if len(paths) > 1 {
				name = fmt.Sprintf("%s_%s", prefix, []string{"request", "response", "other"}[min(i, 2)])
			}
			add(det, name, kv(key, val))
		}
		expr := prefix
		if len(paths) > 1 {
			expr = "1 of " + prefix + "_*"
		}
		if negate {
			expr = "not " + expr
		}
		conds = append(conds, expr)
		return nil
	}
	bodyAbsent := false
	for _, c := range s.Where {
		neg := c.Op == sequence.NotIn || c.Op == sequence.Absent
		if err := addCond(c, neg); err != nil {
			return nil, err
		}
		if paths, _ := pathsOf(s.Provider, s.Operations, c.Field); c.Op == sequence.Absent && len(paths) > 0 && paths[0].Body == catalog.Request {
			bodyAbsent = true
		}
	}
	if bodyAbsent && s.Provider == event.Azure {
		// A body is logged on the Start record, never on the terminal one:
		// that a body is missing can only be read on Start.
		add(det, "selection_start", kv("resultType", strList([]string{"Start", "Started"})))
		conds = append(conds, "selection_start")
	}
	// A key the step must bind has to be in the record.
	for _, b := range s.Bind {
		if b.Optional {
			continue
		}
		already := false
		for _, c := range s.Where {
			if c.Field == b.Field {
				already = true
			}
		}
		if already || b.Field == sequence.FieldCaller || b.Field == sequence.FieldResourceID ||
			b.Field == sequence.FieldVM || b.Field == sequence.FieldDisk {
			continue
		}
		if err := addCond(sequence.Cond{Field: b.Field, Op: sequence.Present}, false); err != nil {
			return nil, err
		}
	}
	add(det, "condition", str(strings.Join(conds, " and ")))
	return det, nil
}

// azureOpName writes an Azure operation as the diagnostic export does.
func azureOpName(op string) string { return strings.ToUpper(op) }

func correlationNode(t sigma.CorrelationType, rules, groupBy []string, window time.Duration, aliases map[string]map[string]string) *yaml.Node {
	if window == 0 {
		window = sequence.DefaultWindow
	}
	c := mapping()
	add(c, "type", str(string(t)))
	add(c, "rules", strSeq(rules))
	add(c, "group-by", strSeq(groupBy))
	add(c, "timespan", str(sigma.FormatTimespan(window)))
	if len(aliases) > 0 {
		a := mapping()
		for _, g := range groupBy {
			m, ok := aliases[g]
			if !ok {
				continue
			}
			am := mapping()
			for _, r := range rules {
				if f, ok := m[r]; ok {
					add(am, r, str(f))
				}
			}
			add(a, g, am)
		}
		add(c, "aliases", a)
	}
	return c
}

// emit renders one document.
func (x *exporter) emit(kind sigma.Kind, ref, title, desc string, d *content.Detection, ls sigma.Logsource, det, corr *yaml.Node, meta bool) {
	m := mapping()
	add(m, "title", str(title))
	id := SigmaRuleUUID(ref)
	add(m, "id", plain(id))
	add(m, "name", str(ref))
	if meta || kind == sigma.KindDetection {
		add(m, "status", plain(x.opt.Status))
		if desc != "" {
			add(m, "description", str(desc))
		}
		add(m, "references", strSeq([]string{d.Attack.SubTechnique.URL()}))
		add(m, "author", str(x.opt.Author))
		add(m, "date", plain(x.opt.Date))
		add(m, "tags", plainList(d.Attack.Tags()))
	}
	if kind == sigma.KindDetection {
		lsn := mapping()
		add(lsn, "product", plain(ls.Product))
		add(lsn, "service", plain(ls.Service))
		add(m, "logsource", lsn)
		add(m, "detection", det)
	} else {
		add(m, "correlation", corr)
	}
	if meta || kind == sigma.KindDetection {
		add(m, "falsepositives", strSeq(falsePositives(d)))
		add(m, "level", plain(d.Severity.Sigma()))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	_ = enc.Encode(m) // a node tree of strings cannot fail to encode
	_ = enc.Close()
	x.docs = append(x.docs, SigmaDocument{Name: fileName(ref), Kind: kind, ID: id, Ref: ref, YAML: buf.Bytes()})
}

func falsePositives(d *content.Detection) []string {
	out := append([]string(nil), SeedFalsePositives...)
	for _, f := range d.FalsePositives {
		if !contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// YAML node builders. Strings are single-quoted, as the rules
// specification asks.

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func add(m *yaml.Node, k string, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
}

func kv(k string, v *yaml.Node) *yaml.Node {
	m := mapping()
	add(m, k, v)
	return m
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Style: yaml.SingleQuotedStyle, Tag: "!!str"}
}

func plain(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func nullNode() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: "null", Tag: "!!null"} }

func strList(vals []string) *yaml.Node {
	if len(vals) == 1 {
		return str(vals[0])
	}
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, v := range vals {
		l.Content = append(l.Content, str(v))
	}
	return l
}

func strSeq(vals []string) *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, v := range vals {
		l.Content = append(l.Content, str(v))
	}
	return l
}

func plainList(vals []string) *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, v := range vals {
		l.Content = append(l.Content, plain(v))
	}
	return l
}

func boolNode(b bool) *yaml.Node {
	v := "false"
	if b {
		v = "true"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: "!!bool"}
}
