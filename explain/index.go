package explain

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Entry is one API call as the bundle needs it: who, what, when, from
// where, on which resources. It keeps no raw record, so that an Index of a
// large export stays small.
type Entry struct {
	UID        string           `json:"uid"`
	Time       time.Time        `json:"time"`
	Provider   string           `json:"provider"`
	Account    string           `json:"account,omitempty"`
	Region     string           `json:"region,omitempty"`
	Operation  string           `json:"operation"`
	Outcome    string           `json:"outcome"`
	ErrorCode  string           `json:"error_code,omitempty"`
	ReadOnly   bool             `json:"read_only,omitempty"`
	Principal  string           `json:"principal"`
	Caller     string           `json:"caller,omitempty"`
	Service    bool             `json:"service_initiated,omitempty"`
	SrcIP      string           `json:"src_ip,omitempty"`
	UserAgent  string           `json:"user_agent,omitempty"`
	Resources  []event.Resource `json:"resources,omitempty"`
	Devices    []string         `json:"devices,omitempty"`
	BodyDisks  []string         `json:"body_disks,omitempty"` // Azure disk ids named anywhere in a restore-point body
	DeleteFlag bool             `json:"delete_replaced,omitempty"`
	File       string           `json:"file,omitempty"`
	Line       int              `json:"line,omitempty"`

	op          string // lower-cased operation
	accessKey   string
	userName    string
	roleName    string
	correlation string
	ord         int    // position in the sorted index: walks over postings keep the index's order
	keys        []rkey // the keys of Resources, made once the index is sorted (key)
	// slim marks a call of a finding's actor outside the reach of its
	// timeline (a Scope): only its time, origin and outcome are kept, for
	// the first use of an address or agent.
	slim    bool
	mixed   bool // an Azure operation folded from whole and slim records
	scratch bool // the entry is its maker's to use again: insert keeps a copy
}

// Index holds the calls of the logs an explanation is built from. Add
// events in any order; the index dedupes CloudTrail re-deliveries by event
// id and folds the Start/Accept/Success records of one Azure operation
// into one entry.
//
// A bundle reads the index through two postings built once when the index
// is sorted: the calls on each resource and the calls of each principal,
// so that explaining many findings costs what their own calls cost, not a
// walk over every call per question.
type Index struct {
	entries []*Entry
	byUID   map[string]*Entry
	byOp    map[opKey]*Entry // Azure and Google Cloud: one entry per operation
	sorted  bool

	byKey       map[rkey][]*Entry   // calls naming each resource, in index order
	byPrincipal map[string][]*Entry // calls of each principal, in index order

	// strs holds one copy of each string entries share (operations,
	// principals, addresses, agents, files, resource ids): a large index
	// repeats few of them many times.
	strs  map[string]string
	lower []byte // scratch: an id lower-cased

	// read is set once an event with a time was offered, kept or not: a
	// scoped index holds few of the events it was given.
	read bool
	// scope, when set, is what the index was restricted to; questions a
	// bundle asks beyond it are gathered in gaps (see Build).
	scope *Scope
	gaps  gaps
}

// opKey identifies one Azure or Google Cloud operation, whose records
// (Start, Accept, Success) fold into one entry: its correlation id, its
// operation lower-cased, its resource lower-cased.
type opKey struct{ correlation, op, resource string }

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byUID: map[string]*Entry{}, byOp: map[opKey]*Entry{}, strs: map[string]string{}}
}

// Len returns the number of entries.
func (x *Index) Len() int { return len(x.entries) }

// Add records one event. Events without a time are ignored: they cannot be
// placed on a timeline.
func (x *Index) Add(ev *event.Event) {
	if ev == nil || ev.Time.IsZero() {
		return
	}
	x.add(ev, false)
}

// add records an event whole, or slim (see Entry.slim).
func (x *Index) add(ev *event.Event, slim bool) {
	x.read = true
	if x.folded(ev.UID, ev.OriginalUID) {
		return
	}
	var e *Entry
	if slim {
		e = newSlimEntry(ev)
	} else {
		e = newEntry(ev)
	}
	x.insert(e, ev.ResourceID)
}

// folded reports whether a call of this id is already in the index, as
// itself or as the original a CloudTrail re-delivery corrects (which then
// points at the original's entry).
func (x *Index) folded(uid, original string) bool {
	if uid == "" {
		return false
	}
	if _, dup := x.byUID[uid]; dup {
		return true
	}
	if original != "" {
		if old, ok := x.byUID[original]; ok {
			// A CloudTrail re-delivery with corrected data: keep the
			// original entry, it is the same call.
			x.byUID[uid] = old
			return true
		}
	}
	return false
}

// insert adds a new entry, or folds it into the entry of its Azure or
// Google Cloud operation; resourceID is the record's own resource.
func (x *Index) insert(e *Entry, resourceID string) {
	x.intern(e)
	if event.Phased(e.Provider) && e.correlation != "" {
		x.lower = event.AppendLower(x.lower[:0], resourceID)
		key := opKey{e.correlation, e.op, x.strs[string(x.lower)]} // most often a resource's id, already kept
		if key.resource == "" {
			key.resource = string(x.lower)
		}
		if old, ok := x.byOp[key]; ok {
			if old.slim != e.slim {
				// One operation's records on both sides of the reach
				// of the actor's timeline: harmless unless the entry
				// ends up on the timeline (gaps.settle).
				old.mixed = true
			}
			old.merge(e)
			if e.UID != "" {
				x.byUID[e.UID] = old
			}
			return
		}
		e = e.kept()
		x.byOp[key] = e
	} else {
		e = e.kept()
	}
	if e.UID != "" {
		x.byUID[e.UID] = e
	}
	x.entries = append(x.entries, e)
	x.sorted = false
}

// str returns the index's copy of s.
func (x *Index) str(s string) string {
	if c, ok := x.strs[s]; ok {
		return c
	}
	x.strs[s] = s
	return s
}

// key returns the key of the entry's i-th resource.
func (e *Entry) key(i int) rkey {
	if i < len(e.keys) {
		return e.keys[i]
	}
	r := &e.Resources[i]
	return keyOf(e.Provider, e.Account, e.Region, r.UID)
}

// intern makes the strings of e that entries share the index's copies,
// so that the decoded event's own copies are freed.
func (x *Index) intern(e *Entry) {
	one := func(s *string) {
		if *s == "" {
			return
		}
		if c, ok := x.strs[*s]; ok {
			*s = c
			return
		}
		c := strings.Clone(*s)
		x.strs[c] = c
		*s = c
	}
	for _, s := range []*string{&e.Account, &e.Region, &e.Operation, &e.Principal, &e.Caller, &e.SrcIP, &e.UserAgent,
		&e.File, &e.op, &e.accessKey, &e.userName, &e.roleName, &e.ErrorCode} {
		one(s)
	}
	for i := range e.Resources {
		r := &e.Resources[i]
		one(&r.UID)
		one(&r.Type)
		one(&r.Role)
	}
}

// newSlimEntry keeps what Index.origins reads of a call outside the
// actor's timeline, and what Add needs to fold re-deliveries and phases.
func newSlimEntry(ev *event.Event) *Entry { return newEntry(ev).slimmed() }

// kept returns the entry an index keeps: e, or a copy of a scratch entry.
func (e *Entry) kept() *Entry {
	if !e.scratch {
		return e
	}
	c := *e
	c.scratch = false
	c.Resources = slices.Clone(e.Resources)
	c.Devices = slices.Clone(e.Devices)
	c.BodyDisks = slices.Clone(e.BodyDisks)
	return &c
}

// slimmed returns the slim entry of a whole one (see newSlimEntry).
func (e *Entry) slimmed() *Entry {
	return &Entry{
		UID: e.UID, Time: e.Time, Provider: e.Provider, Outcome: e.Outcome,
		Principal: e.Principal, SrcIP: e.SrcIP, UserAgent: e.UserAgent,
		op: e.op, correlation: e.correlation, slim: true,
	}
}

func newEntry(ev *event.Event) *Entry {
	e := new(Entry)
	e.fill(ev)
	return e
}

// fill makes e the whole entry of ev, using e's lists again (a pack's
// scratch entry: Facts.pack).
func (e *Entry) fill(ev *event.Event) {
	resources, devices, disks := e.Resources[:0], e.Devices[:0], e.BodyDisks[:0]
	*e = Entry{
		UID: ev.UID, Time: ev.Time.UTC(), Provider: ev.Provider, Account: ev.Account, Region: ev.Region,
		Operation: ev.OperationName, Outcome: ev.Outcome.String(), ErrorCode: ev.ErrorCode, ReadOnly: ev.ReadOnly,
		Principal: principalOf(ev), Caller: ev.Caller, Service: ev.Actor.ServiceInitiated,
		SrcIP: ev.SrcIP, UserAgent: ev.UserAgent,
		Resources: append(resources, ev.Resources...), Devices: append(devices, ev.Keys.Devices...),
		File: ev.Source.Name, Line: ev.Source.Line,
		op: strings.ToLower(ev.Operation), accessKey: ev.Actor.AccessKeyID, correlation: ev.CorrelationUID,
	}
	if e.Operation == "" {
		e.Operation = ev.Operation
	}
	if e.SrcIP == "" {
		e.SrcIP = ev.SrcDomain
	}
	e.userName, e.roleName = names(ev)
	switch {
	case strings.Contains(e.op, "/restorepoints/write"):
		e.BodyDisks = diskIDs(ev.Response, disks)
		e.BodyDisks = diskIDs(ev.Request, e.BodyDisks)
	case ev.Operation == "CreateReplaceRootVolumeTask":
		e.DeleteFlag = replaceDeletes(ev.Request)
	}
}

// merge folds another phase of the same Azure operation into e: the
// terminal outcome wins, resources and body facts are united.
func (e *Entry) merge(o *Entry) {
	if terminal(o.Outcome) || !terminal(e.Outcome) {
		e.Outcome, e.ErrorCode = o.Outcome, o.ErrorCode
		e.UID, e.Time, e.File, e.Line = o.UID, o.Time, o.File, o.Line
	}
	for _, r := range o.Resources {
		if !hasResource(e.Resources, r) {
			e.Resources = append(e.Resources, r)
		}
	}
	for _, d := range o.BodyDisks {
		e.BodyDisks = appendUnique(e.BodyDisks, d)
	}
	if e.SrcIP == "" {
		e.SrcIP = o.SrcIP
	}
	if e.UserAgent == "" {
		e.UserAgent = o.UserAgent
	}
}

func terminal(outcome string) bool { return outcome == "success" || outcome == "failure" }

func hasResource(list []event.Resource, r event.Resource) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// principalOf is the identity an entry is grouped under: the ARN or the
// object id, else the caller; Azure identities compare lower-cased.
func principalOf(ev *event.Event) string {
	p := ev.Actor.UID
	if p == "" {
		p = ev.Caller
	}
	if ev.Provider == event.Azure {
		p = strings.ToLower(p)
	}
	return p
}

// names returns the IAM user name and role name behind an AWS actor, for
// the playbook's revoke commands.
func names(ev *event.Event) (user, role string) {
	if ev.Provider != event.AWS {
		return "", ""
	}
	switch ev.Actor.Type {
	case "IAMUser":
		return ev.Actor.Name, ""
	case "AssumedRole":
		if r := ev.Actor.Role; r != "" {
			return "", r[strings.LastIndexByte(r, '/')+1:]
		}
		// arn:aws:sts::acct:assumed-role/Role/session
		if parts := strings.Split(ev.Actor.UID, "/"); len(parts) >= 3 {
			return "", parts[len(parts)-2]
		}
	}
	return "", ""
}

// diskIDs collects the managed-disk ids named anywhere in a JSON body.
func diskIDs(body json.RawMessage, acc []string) []string {
	if len(body) == 0 {
		return acc
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return acc
	}
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k])
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		case string:
			if strings.Contains(strings.ToLower(t), "/providers/microsoft.compute/disks/") {
				acc = appendUnique(acc, t)
			}
		}
	}
	walk(v)
	return acc
}

// replaceDeletes reports whether a CreateReplaceRootVolumeTask asked for
// the replaced root volume to be deleted.
func replaceDeletes(req json.RawMessage) bool {
	var r struct {
		Req struct {
			Delete any `json:"DeleteReplacedRootVolume"`
		} `json:"CreateReplaceRootVolumeTaskRequest"`
		Delete any `json:"deleteReplacedRootVolume"`
	}
	if json.Unmarshal(req, &r) != nil {
		return false
	}
	yes := func(v any) bool {
		switch t := v.(type) {
		case bool:
			return t
		case string:
			return strings.EqualFold(t, "true")
		}
		return false
	}
	return yes(r.Req.Delete) || yes(r.Delete)
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// sort orders the entries by time, then file position, then id, so that
// every walk over them is deterministic, and builds the postings.
func (x *Index) sort() {
	if x.sorted {
		return
	}
	sort.SliceStable(x.entries, func(i, j int) bool {
		a, b := x.entries[i], x.entries[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.UID < b.UID
	})
	x.byKey = make(map[rkey][]*Entry)
	x.byPrincipal = make(map[string][]*Entry)
	for i, e := range x.entries {
		e.ord = i
		x.byPrincipal[e.Principal] = append(x.byPrincipal[e.Principal], e)
		e.keys = e.keys[:0]
		for _, r := range e.Resources {
			k := keyOf(e.Provider, e.Account, e.Region, r.UID)
			k.scope, k.id = x.str(k.scope), x.str(k.id)
			e.keys = append(e.keys, k)
			// An entry names a resource once in its posting, whatever
			// the roles it names it in.
			if list := x.byKey[k]; len(list) == 0 || list[len(list)-1] != e {
				x.byKey[k] = append(list, e)
			}
		}
	}
	x.sorted = true
}

// touching returns the calls that name the resource, in index order.
func (x *Index) touching(k rkey) []*Entry {
	if x.scope != nil && !x.scope.keys[k] {
		x.gaps.key(k)
	}
	return x.byKey[k]
}

// calls returns every call of the principal, in index order, slim ones
// included.
func (x *Index) calls(principal string) []*Entry {
	if x.scope != nil && x.scope.principals[principal] == nil {
		x.gaps.principal(principal)
	}
	return x.byPrincipal[principal]
}

// callsBetween returns the principal's calls from from to to, both
// included, in index order.
func (x *Index) callsBetween(principal string, from, to time.Time) []*Entry {
	if x.scope != nil && !x.scope.principals[principal].covers(from, to) {
		x.gaps.principal(principal)
	}
	list := x.byPrincipal[principal]
	i := sort.Search(len(list), func(i int) bool { return !list[i].Time.Before(from) })
	j := sort.Search(len(list), func(i int) bool { return list[i].Time.After(to) })
	if j < i {
		return nil
	}
	return list[i:j]
}

// union merges lists of entries into one in index order, each entry once.
func union(lists ...[]*Entry) []*Entry {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return nil
	}
	out := make([]*Entry, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ord < out[j].ord })
	w := 0
	for i, e := range out {
		if i > 0 && out[w-1] == e {
			continue
		}
		out[w] = e
		w++
	}
	return out[:w]
}
