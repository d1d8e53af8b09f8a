package sequence

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Rule is one detection, declared as data: an ordered list of steps that
// must happen in event-time order within Window of the first, joined by
// bindings. A rule with one step is a single-event rule.
type Rule struct {
	// ID names the rule in matches and in saved state; it must be unique.
	ID string
	// Window bounds the time from the first step to the last; zero means
	// DefaultWindow.
	Window time.Duration
	// Steps happen in this order. The first step's bindings are all new;
	// every later step must join on at least one binding of an earlier step.
	Steps []Step
	// Context lists corroborating events looked up when the steps are
	// complete (a stop before an attach, a deallocate before a VM write).
	// They never start or advance a sequence.
	Context []Context
	// Adjust raises or lowers severity and confidence by evidence.
	Adjust []Adjust
	// Supersedes names rules whose match this rule's match makes redundant:
	// when both complete on the same event and this one's steps include all
	// of the other's, only this one is reported (a three-hop chain, not also
	// its two-hop tail).
	Supersedes []string
}

// Step is one call of a sequence.
type Step struct {
	// Name identifies the step in evidence, contexts and adjustments.
	Name string
	// Provider is event.AWS or event.Azure.
	Provider string
	// Operations the step accepts, compared case-insensitively.
	Operations []string
	// Where lists conditions that must all hold.
	Where []Cond
	// Bind lists the step's keys. A name not bound by an earlier step is a
	// new binding, taken from the field (a field with several values starts
	// one sequence per value); a name bound earlier is a join: the field
	// must contain the bound value.
	Bind []Bind
}

// Bind ties a name to a field of a step's event.
type Bind struct {
	Name  string
	Field Field
	// Optional relaxes the binding: a new binding may be left empty, and a
	// join is skipped when the event has no value for the field (a body-less
	// Azure record) but must hold when it has one.
	Optional bool
}

// CondOp is how a condition tests a field.
type CondOp uint8

// The condition operators. Comparisons ignore case.
const (
	In       CondOp = iota + 1 // some value is one of Values
	NotIn                      // no value is one of Values (true when the field is empty)
	Present                    // the field has a value
	Absent                     // the field has no value
	Prefix                     // some value starts with one of Values
	Contains                   // some value contains one of Values
)

var condOpNames = [...]string{"", "in", "not_in", "present", "absent", "prefix", "contains"}

// String returns the operator's name.
func (o CondOp) String() string {
	if int(o) < len(condOpNames) && o != 0 {
		return condOpNames[o]
	}
	return fmt.Sprintf("condop(%d)", uint8(o))
}

// Cond is a test on one field of an event.
type Cond struct {
	Field  Field
	Op     CondOp
	Values []string
}

// String renders the condition for messages and docs, e.g.
// "create_option in [copy restore]".
func (c Cond) String() string {
	switch c.Op {
	case Present, Absent:
		return c.Field.String() + " " + c.Op.String()
	}
	return fmt.Sprintf("%s %s %v", c.Field, c.Op, c.Values)
}

// Context is a corroborating event looked up when a rule's steps are
// complete: the latest matching event whose Field holds the value bound
// to Binding, at or before the Before step and within the rule's window of
// it. A found context becomes evidence.
type Context struct {
	Name       string
	Provider   string
	Operations []string
	Where      []Cond
	Field      Field
	Binding    string
	Before     string
	// Required makes the context a condition of the match.
	Required bool
}

// Adjust raises or lowers a match's severity and confidence when its
// trigger holds. Exactly one trigger is set: Step (with Where), Context,
// or ServiceActor.
type Adjust struct {
	// Reason is shown with the finding ("attached at a root device name").
	Reason     string
	Severity   int // levels up (positive) or down (negative)
	Confidence int
	// Step with Where: some event of that step meets all the conditions.
	Step  string
	Where []Cond
	// Context: the named context was found.
	Context string
	// ServiceActor: an event of a step was made by a cloud service on
	// someone's behalf.
	ServiceActor bool
}

// DefaultWindow is a rule's window when Rule.Window is zero.
const DefaultWindow = 24 * time.Hour

// compiled forms

type rule struct {
	Rule
	idx        int
	window     time.Duration
	names      []string // binding names by slot
	steps      []cstep
	ctx        []cctx
	adjust     []cadjust
	supersedes []bool // by rule index
}

type cstep struct {
	name  string
	where []Cond
	joins []cbind
	news  []cbind
	index cbind // the join used to find partial sequences; steps after the first
}

type cbind struct {
	slot     int
	field    Field
	optional bool
}

type cctx struct {
	Context
	gidx   int // engine-wide context index
	slot   int
	before int // step index
}

type cadjust struct {
	Adjust
	step int // -1 when not a step trigger
	ctx  int // -1 when not a context trigger
}

// signature identifies what a context remembers: two rules declaring the
// same events under the same key share one memory.
func (c *cctx) signature() string {
	ops := make([]string, len(c.Operations))
	for i, op := range c.Operations {
		ops[i] = strings.ToLower(op)
	}
	sort.Strings(ops)
	return fmt.Sprint(c.Provider, ops, c.Where, c.Field)
}

func (r *rule) slot(name string) int {
	for i, n := range r.names {
		if n == name {
			return i
		}
	}
	return -1
}

func (r *rule) stepIndex(name string) int {
	for i := range r.steps {
		if r.steps[i].name == name {
			return i
		}
	}
	return -1
}

// compile checks a rule and builds its matching form.
func compile(in Rule, idx int) (*rule, error) {
	r := &rule{Rule: in, idx: idx, window: in.Window}
	if r.window == 0 {
		r.window = DefaultWindow
	}
	if in.ID == "" {
		return nil, errors.New("rule without an id")
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("rule %s: %s", in.ID, fmt.Sprintf(format, a...))
	}
	if r.window < 0 {
		return nil, fail("negative window")
	}
	if len(in.Steps) == 0 {
		return nil, fail("no steps")
	}
	mandatory := map[string]bool{} // bindings introduced without Optional
	for j, s := range in.Steps {
		if s.Name == "" {
			return nil, fail("step %d has no name", j+1)
		}
		if r.stepIndex(s.Name) >= 0 {
			return nil, fail("step name %q repeated", s.Name)
		}
		if s.Provider == "" || len(s.Operations) == 0 {
			return nil, fail("step %s needs a provider and operations", s.Name)
		}
		if err := checkConds(s.Where); err != nil {
			return nil, fail("step %s: %v", s.Name, err)
		}
		cs := cstep{name: s.Name, where: s.Where, index: cbind{slot: -1}}
		var fresh []string
		for _, b := range s.Bind {
			if b.Name == "" || b.Field == FieldNone || b.Field >= numFields {
				return nil, fail("step %s: binding needs a name and a field", s.Name)
			}
			if sl := r.slot(b.Name); sl >= 0 && !slices.Contains(fresh, b.Name) {
				cb := cbind{slot: sl, field: b.Field, optional: b.Optional}
				cs.joins = append(cs.joins, cb)
				if cs.index.slot < 0 && !b.Optional && mandatory[b.Name] {
					cs.index = cb
				}
				continue
			}
			if slices.Contains(fresh, b.Name) {
				return nil, fail("step %s binds %q twice", s.Name, b.Name)
			}
			if j > 0 && len(r.names) == 0 {
				return nil, fail("step %s: no earlier binding", s.Name)
			}
			fresh = append(fresh, b.Name)
			r.names = append(r.names, b.Name)
			cs.news = append(cs.news, cbind{slot: len(r.names) - 1, field: b.Field, optional: b.Optional})
			if !b.Optional {
				mandatory[b.Name] = true
			}
		}
		if j > 0 && cs.index.slot < 0 {
			return nil, fail("step %s must join on a required binding of an earlier step", s.Name)
		}
		r.steps = append(r.steps, cs)
	}
	for i, c := range in.Context {
		if c.Name == "" || c.Provider == "" || len(c.Operations) == 0 || c.Field == FieldNone || c.Field >= numFields {
			return nil, fail("context %d needs a name, provider, operations and field", i+1)
		}
		if err := checkConds(c.Where); err != nil {
			return nil, fail("context %s: %v", c.Name, err)
		}
		cc := cctx{Context: c, slot: r.slot(c.Binding), before: r.stepIndex(c.Before)}
		if cc.slot < 0 {
			return nil, fail("context %s: unknown binding %q", c.Name, c.Binding)
		}
		if cc.before < 0 {
			return nil, fail("context %s: unknown step %q", c.Name, c.Before)
		}
		r.ctx = append(r.ctx, cc)
	}
	for _, a := range in.Adjust {
		ca := cadjust{Adjust: a, step: -1, ctx: -1}
		triggers := 0
		if a.Step != "" {
			triggers++
			if ca.step = r.stepIndex(a.Step); ca.step < 0 {
				return nil, fail("adjustment %q: unknown step %q", a.Reason, a.Step)
			}
			if len(a.Where) == 0 {
				return nil, fail("adjustment %q: a step trigger needs conditions", a.Reason)
			}
			if err := checkConds(a.Where); err != nil {
				return nil, fail("adjustment %q: %v", a.Reason, err)
			}
		}
		if a.Context != "" {
			triggers++
			for i := range r.ctx {
				if r.ctx[i].Name == a.Context {
					ca.ctx = i
				}
			}
			if ca.ctx < 0 {
				return nil, fail("adjustment %q: unknown context %q", a.Reason, a.Context)
			}
		}
		if a.ServiceActor {
			triggers++
		}
		if triggers != 1 || a.Reason == "" {
			return nil, fail("adjustment %q needs a reason and exactly one trigger", a.Reason)
		}
		r.adjust = append(r.adjust, ca)
	}
	return r, nil
}

func checkConds(cs []Cond) error {
	for _, c := range cs {
		if c.Field == FieldNone || c.Field >= numFields {
			return fmt.Errorf("condition on unknown field %d", c.Field)
		}
		switch c.Op {
		case In, NotIn, Prefix, Contains:
			if len(c.Values) == 0 {
				return fmt.Errorf("condition %s has no values", c)
			}
		case Present, Absent:
		default:
			return fmt.Errorf("condition on %s has unknown operator %d", c.Field, c.Op)
		}
	}
	return nil
}

// holds reports whether values satisfy the condition.
func (c *Cond) holds(values []string) bool {
	switch c.Op {
	case Present:
		return len(values) > 0
	case Absent:
		return len(values) == 0
	case In, Prefix, Contains:
		for _, v := range values {
			for _, w := range c.Values {
				switch {
				case c.Op == In && strings.EqualFold(v, w),
					c.Op == Prefix && len(v) >= len(w) && strings.EqualFold(v[:len(w)], w),
					c.Op == Contains && containsFold(v, w):
					return true
				}
			}
		}
		return false
	case NotIn:
		for _, v := range values {
			for _, w := range c.Values {
				if strings.EqualFold(v, w) {
					return false
				}
			}
		}
		return true
	}
	return false
}

// containsFold reports whether sub is in s, ignoring ASCII case, without
// allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
