package explain

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/ingest/gcp"
)

// DefaultWindow is how far before the first step and after the last the
// timeline reaches unless Options.Window says otherwise.
const DefaultWindow = 24 * time.Hour

// DefaultMaxTimeline caps the timeline entries of one bundle.
const DefaultMaxTimeline = 2000

// burstGap splits a phase of the timeline into groups: calls further apart
// than this are separate bursts of activity.
const burstGap = time.Hour

// Options control a bundle.
type Options struct {
	// Window is the time before the first step and after the last that the
	// timeline covers; zero means DefaultWindow.
	Window time.Duration
	// MaxTimeline caps the timeline entries; zero means DefaultMaxTimeline.
	MaxTimeline int
	// Now is the time of the response, which the playbook's "revoke every
	// session issued before now" uses; zero means ResponseTime().
	Now time.Time
	// Keep, when set, says which calls the reads of Build may use: the
	// record filters (--since, --account, ...) the first read applied,
	// so that a bundle shows no call the findings could not have seen.
	Keep func(*event.Event) bool
}

// ResponseTime is the time of the response a playbook is made for: the
// environment's REVERTWATCH_NOW (RFC 3339), which makes a report
// reproducible, else the time it is called.
func ResponseTime() time.Time {
	if s := os.Getenv("REVERTWATCH_NOW"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Now()
}

func (o Options) window() time.Duration {
	if o.Window > 0 {
		return o.Window
	}
	return DefaultWindow
}

func (o Options) maxTimeline() int {
	if o.MaxTimeline > 0 {
		return o.MaxTimeline
	}
	return DefaultMaxTimeline
}

// Bundle is the investigation bundle of one finding.
type Bundle struct {
	Finding   finding.Finding  `json:"finding"`
	Principal string           `json:"principal"`
	Window    Window           `json:"window"`
	Steps     []Touch          `json:"steps"`
	Timeline  []Group          `json:"timeline"`
	Lineage   []Lineage        `json:"lineage"`
	Replaced  []Replaced       `json:"replaced"`
	Deletions []Touch          `json:"deletions"`
	Others    []OtherPrincipal `json:"other_principals"`
	Origins   []Origin         `json:"origins"`
	Playbook  content.Playbook `json:"playbook"`
	Notes     []string         `json:"notes,omitempty"`

	actor *Entry // the first step made by the actor, for its credentials
}

// Window is the stretch of time the timeline covers.
type Window struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Hours float64   `json:"hours_around"`
}

// Touch is one call on a resource, as lineage, deletions and steps show it.
type Touch struct {
	Time      time.Time `json:"time"`
	Operation string    `json:"operation"`
	Outcome   string    `json:"outcome"`
	Principal string    `json:"principal"`
	ByActor   bool      `json:"by_actor"`
	Resource  string    `json:"resource,omitempty"`
	Step      string    `json:"step,omitempty"`
	SrcIP     string    `json:"src_ip,omitempty"`
	UID       string    `json:"uid"`
	File      string    `json:"file,omitempty"`
	Line      int       `json:"line,omitempty"`
}

// Group is a burst of the actor's calls within one phase of the timeline:
// before the first step, during the revert, or after the last step.
type Group struct {
	Phase   string          `json:"phase"`
	Start   time.Time       `json:"start"`
	End     time.Time       `json:"end"`
	Entries []TimelineEntry `json:"entries"`
}

// The timeline phases.
const (
	PhaseBefore = "before"
	PhaseRevert = "revert"
	PhaseAfter  = "after"
)

// TimelineEntry is one call of the actor, or a run of identical calls
// (same operation, resources and outcome) folded into one with a Count.
type TimelineEntry struct {
	Time      time.Time `json:"time"`
	Last      time.Time `json:"last,omitzero"`
	Count     int       `json:"count"`
	Operation string    `json:"operation"`
	Outcome   string    `json:"outcome"`
	ReadOnly  bool      `json:"read_only,omitempty"`
	Resources []string  `json:"resources,omitempty"`
	Step      string    `json:"step,omitempty"`
	Tags      []string  `json:"tags,omitempty"`
	SrcIP     string    `json:"src_ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	UID       string    `json:"uid"`
	File      string    `json:"file,omitempty"`
	Line      int       `json:"line,omitempty"`
}

// Lineage is where one resource came from and what became of it.
type Lineage struct {
	Resource string `json:"resource"`
	Kind     string `json:"kind"`
	// Role is the part the resource plays in the finding or the chain:
	// "restored from", "created by the revert", "reverted", "source of ...".
	Role     string   `json:"role"`
	Origin   *Touch   `json:"origin,omitempty"`
	MadeFrom []string `json:"made_from,omitempty"`
	// BeforeAttack is how long before the first step the resource was
	// made; zero when the origin is not in the data.
	BeforeAttack time.Duration `json:"before_attack_ns,omitempty"`
	BeforeText   string        `json:"before_attack,omitempty"`
	Shared       []Touch       `json:"shared,omitempty"`
	Deleted      []Touch       `json:"deleted,omitempty"`
	Notes        []string      `json:"notes,omitempty"`
}

// Replaced is a volume, disk or instance the revert put aside, and its fate.
type Replaced struct {
	Resource string  `json:"resource"`
	Kind     string  `json:"kind"`
	How      string  `json:"how"`
	Event    *Touch  `json:"event,omitempty"`
	Deleted  []Touch `json:"deleted,omitempty"`
	// Preserved lists snapshots taken of it after it was replaced.
	Preserved []Touch `json:"preserved,omitempty"`
	Fate      string  `json:"fate"`
}

// OtherPrincipal is someone other than the actor who touched a resource of
// the finding or its lineage.
type OtherPrincipal struct {
	Principal  string    `json:"principal"`
	Service    bool      `json:"service_initiated"`
	Calls      int       `json:"calls"`
	Operations []string  `json:"operations"`
	Resources  []string  `json:"resources"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// Origin is one source address or user agent the actor used in the window.
type Origin struct {
	Kind       string    `json:"kind"` // "ip" or "user_agent"
	Value      string    `json:"value"`
	Calls      int       `json:"calls"`
	InSteps    bool      `json:"in_steps"`
	FirstUsed  time.Time `json:"first_used"`
	New        bool      `json:"new"`
	NewUnknown bool      `json:"new_unknown,omitempty"` // the principal has no activity before the window in the data
}

// rkey identifies a resource: AWS ids are unique per account and region,
// Azure ids compare case-insensitively.
type rkey struct{ provider, scope, id string }

func keyOf(provider, account, region, id string) rkey {
	if provider == event.Azure {
		return rkey{provider, "", strings.ToLower(id)}
	}
	if provider == event.GCP {
		// A Compute Engine path names its project and zone itself.
		return rkey{provider, "", id}
	}
	return rkey{provider, account + "/" + region, id}
}

func (e *Entry) touches(set map[rkey]bool) (string, bool) {
	for i, r := range e.Resources {
		if set[e.key(i)] {
			return r.UID, true
		}
	}
	return "", false
}

func (e *Entry) has(k rkey, roles ...string) bool {
	for i, r := range e.Resources {
		if e.key(i) != k {
			continue
		}
		if len(roles) == 0 {
			return true
		}
		for _, role := range roles {
			if r.Role == role {
				return true
			}
		}
	}
	return false
}

func (e *Entry) succeeded() bool { return e.Outcome == "success" }

// deletion reports whether the call destroys a resource: the evidence
// destruction that often follows a revert (which calls do is the field
// catalog's knowledge).
func (e *Entry) deletion() bool { return catalog.Deletes(e.Provider, e.Operation) }

// sharing reports whether the call shares or exports a snapshot or image.
func (e *Entry) sharing() bool { return catalog.Shares(e.Provider, e.Operation) }

// creates reports whether the call made the resource (its origin).
func (e *Entry) creates(k rkey) bool {
	if !e.succeeded() || e.ReadOnly {
		return false
	}
	if e.Provider == event.Azure {
		// Every ARM write marks its target "created"; only disks,
		// snapshots and restore points are made once.
		if !strings.HasSuffix(e.op, "/write") {
			return false
		}
		id := k.id
		if !strings.Contains(id, "/microsoft.compute/disks/") && !strings.Contains(id, "/microsoft.compute/snapshots/") &&
			!strings.Contains(id, "/restorepoints/") {
			return false
		}
	}
	return e.has(k, event.RoleCreated)
}

func (x *Index) touch(e *Entry, principal, resource string, steps map[*Entry]string) Touch {
	return Touch{
		Time: e.Time, Operation: e.Operation, Outcome: e.Outcome, Principal: e.Principal,
		ByActor: e.Principal == principal, Resource: resource, Step: steps[e], SrcIP: e.SrcIP,
		UID: e.UID, File: e.File, Line: e.Line,
	}
}

// ActorLabel is how the bundle's header names the actor: for Azure the
// user's UPN (or the caller), with the object id the timeline groups by
// in parentheses; elsewhere the principal.
func (b *Bundle) ActorLabel() string {
	f := &b.Finding
	if f.Provider != event.Azure {
		return b.Principal
	}
	name := f.Actor.Name
	if name == "" {
		name = f.Actor.Caller
	}
	switch {
	case name == "":
		return b.Principal
	case b.Principal == "" || strings.EqualFold(name, b.Principal):
		return name
	}
	return name + " (object id " + b.Principal + ")"
}

// findingPrincipal is the identity the finding's actor is grouped under,
// as principalOf computes it for entries.
func findingPrincipal(f *finding.Finding) string {
	p := f.Actor.UID
	if p == "" {
		p = f.Actor.Caller
	}
	if f.Provider == event.Azure {
		p = strings.ToLower(p)
	}
	return p
}

// Explain builds the bundle of one finding from the indexed logs. It never
// fails: what the logs do not hold is said in the bundle's notes.
func (x *Index) Explain(f finding.Finding, opt Options) *Bundle {
	x.sort()
	b := &Bundle{Finding: f, Principal: findingPrincipal(&f)}
	first, last := bounds(&f)
	w := opt.window()
	b.Window = Window{From: first.Add(-w).UTC(), To: last.Add(w).UTC(), Hours: w.Hours()}

	// The finding's own calls, by entry.
	steps := map[*Entry]string{}
	for _, ev := range f.Evidence {
		if e, ok := x.byUID[ev.UID]; ok {
			if _, seen := steps[e]; !seen {
				steps[e] = ev.Step
			}
		} else if ev.UID != "" {
			b.Notes = append(b.Notes, fmt.Sprintf("step %s (%s %s) is not in the logs given to explain", ev.Step, ev.Operation, ev.UID))
		}
	}
	for _, ev := range f.Evidence {
		if e, ok := x.byUID[ev.UID]; ok {
			if b.actor == nil && e.Principal == b.Principal {
				b.actor = e
			}
			t := x.touch(e, b.Principal, "", steps)
			t.Step = ev.Step
			b.Steps = append(b.Steps, t)
		}
	}
	if !x.read {
		b.Notes = append(b.Notes, "no events were read: give explain the logs the finding came from (--input)")
	}

	related := map[rkey]bool{}
	for _, r := range f.Resources {
		related[keyOf(f.Provider, f.Account, f.Region, r.UID)] = true
	}
	b.Lineage = x.lineage(&f, b.Principal, first, related, steps)
	b.Replaced = x.replaced(&f, b, first, last, w, related, steps)
	b.Deletions = x.deletions(b.Principal, first, last.Add(w), related, steps)
	b.Others = x.others(b.Principal, related)
	b.Timeline, b.Notes = x.timeline(b, first, last, opt.maxTimeline(), related, steps)
	b.Origins = x.origins(b, steps)
	if p, ok := content.PlaybookFor(f.RuleID); ok {
		v := b.values()
		now := opt.Now
		if now.IsZero() {
			now = ResponseTime()
		}
		v["now"] = now.UTC().Truncate(time.Second).Format(time.RFC3339)
		b.Playbook = p.Filled(v).ForActor(v["access_key"])
	} else {
		b.Notes = append(b.Notes, fmt.Sprintf("no playbook for rule %q", f.RuleID))
	}
	return b
}

func kindLabel(t string) string {
	return strings.ReplaceAll(t, "_", " ")
}

// lineage traces every resource of the finding back through the calls
// that made it, as far as the logs go.
func (x *Index) lineage(f *finding.Finding, principal string, first time.Time, related map[rkey]bool, steps map[*Entry]string) []Lineage {
	type item struct {
		k    rkey
		uid  string
		kind string
		role string
	}
	var queue []item
	seen := map[rkey]bool{}
	for _, r := range f.Resources {
		k := keyOf(f.Provider, f.Account, f.Region, r.UID)
		if seen[k] {
			continue
		}
		seen[k] = true
		queue = append(queue, item{k, r.UID, r.Type, rolesText(f.Resources, r)})
	}
	var out []Lineage
	for len(queue) > 0 && len(out) < 50 {
		it := queue[0]
		queue = queue[1:]
		l := Lineage{Resource: it.uid, Kind: kindLabel(it.kind), Role: it.role}
		// A call that makes, deletes or shares the resource names it.
		for _, e := range x.touching(it.k) {
			if l.Origin == nil && e.creates(it.k) {
				t := x.touch(e, principal, it.uid, steps)
				l.Origin = &t
				for i, r := range e.Resources {
					if r.Role != event.RoleSource {
						continue
					}
					sk := e.key(i)
					l.MadeFrom = appendUnique(l.MadeFrom, r.UID)
					related[sk] = true
					if !seen[sk] {
						seen[sk] = true
						queue = append(queue, item{sk, r.UID, r.Type, "source of " + it.uid})
					}
				}
				// A restore point's body names the disks it was taken of.
				for _, d := range e.BodyDisks {
					l.MadeFrom = appendUnique(l.MadeFrom, d)
				}
				continue
			}
			if !e.has(it.k) || !e.succeeded() {
				continue
			}
			switch {
			case e.deletion():
				l.Deleted = append(l.Deleted, x.touch(e, principal, it.uid, steps))
			case e.sharing():
				l.Shared = append(l.Shared, x.touch(e, principal, it.uid, steps))
			}
		}
		// A restore point is reached through its disk restore point: the
		// point itself is the parent path.
		if l.Origin == nil && it.k.provider == event.Azure {
			if i := strings.Index(it.k.id, "/diskrestorepoints/"); i > 0 {
				pk := rkey{event.Azure, "", it.k.id[:i]}
				if !seen[pk] {
					seen[pk] = true
					related[pk] = true
					queue = append(queue, item{pk, it.uid[:i], string(event.KindSnapshot), "restore point holding " + shortID(it.uid)})
				}
			}
		}
		if l.Origin != nil {
			l.BeforeAttack = first.Sub(l.Origin.Time)
			switch {
			case l.BeforeAttack > 0:
				l.BeforeText = human(l.BeforeAttack) + " before the first step"
			case l.BeforeAttack == 0:
				l.BeforeText = "at the first step"
			default:
				l.BeforeText = human(-l.BeforeAttack) + " after the first step"
			}
		} else {
			l.Notes = append(l.Notes, originMissing(it.k.provider, it.kind))
		}
		out = append(out, l)
	}
	return out
}

// rolesText names every part a resource plays in the finding.
func rolesText(all []event.Resource, r event.Resource) string {
	var parts []string
	for _, x := range all {
		if x.UID == r.UID && x.Type == r.Type {
			parts = appendUnique(parts, roleText(x))
		}
	}
	return strings.Join(parts, "; ")
}

func roleText(r event.Resource) string {
	switch r.Role {
	case event.RoleSource:
		switch event.Kind(r.Type) {
		case event.KindVolume, event.KindDisk, event.KindInstance:
			return "snapshotted or imaged"
		}
		return "restored from"
	case event.RoleCreated:
		return "created by the revert"
	case event.RoleAttachedTo:
		return "reverted (attached to)"
	case event.RoleTarget:
		return "acted on"
	}
	if r.Role == "" {
		return "named"
	}
	return strings.ReplaceAll(r.Role, "_", " ")
}

func originMissing(provider, kind string) string {
	if provider == event.GCP {
		switch event.Kind(kind) {
		case event.KindSnapshot:
			return "not created within the data: taken earlier (or in another project); read its creation time and source disk with gcloud compute snapshots describe"
		case event.KindImage, event.KindMachineImage:
			return "not created within the data: read its creation time and source with gcloud compute images describe (machine-images describe)"
		case event.KindVolume:
			return "not created within the data: read its source snapshot or image with gcloud compute disks describe"
		}
	}
	if provider == event.Azure {
		switch event.Kind(kind) {
		case event.KindSnapshot:
			return "not created within the data: taken earlier (or in another subscription); read its creation time and source with az snapshot show (ARM GET)"
		case event.KindDisk:
			return "not written within the data: read its creationData with az disk show (ARM GET)"
		case event.KindVM:
			return "created before the data begins: read its OS disk with az vm show (ARM GET), its history with Resource Graph resourcechanges"
		}
		return "its origin is not in the data: read it with az resource show --ids (ARM GET)"
	}
	switch event.Kind(kind) {
	case event.KindSnapshot:
		return "not created within the data: taken earlier (or by another account, or shared in); read its start time and owner with DescribeSnapshots"
	case event.KindImage:
		return "not registered within the data: read its creation date and block device mapping with DescribeImages"
	case event.KindVolume:
		return "not created within the data: read it with DescribeVolumes"
	case event.KindInstance:
		return "launched before the data begins"
	}
	return "its origin is not in the data"
}

// replaced finds what the revert put aside: the volume detached from the
// instance, the instance the relaunch replaced, the VM's previous OS disk.
func (x *Index) replaced(f *finding.Finding, b *Bundle, first, last time.Time, w time.Duration, related map[rkey]bool, steps map[*Entry]string) []Replaced {
	principal := b.Principal
	current := map[rkey]bool{} // resources the revert brought in
	var instances, vms []rkey
	var launched []rkey
	for _, r := range f.Resources {
		k := keyOf(f.Provider, f.Account, f.Region, r.UID)
		switch event.Kind(r.Type) {
		case event.KindVolume, event.KindDisk:
			// The volume a snapshot was taken of is a source, not what
			// the revert brought in.
			if r.Role != event.RoleSource {
				current[k] = true
			}
		case event.KindInstance:
			if r.Role == event.RoleCreated {
				launched = append(launched, k)
			} else {
				instances = appendKey(instances, k)
			}
		case event.KindVM:
			vms = appendKey(vms, k)
		}
	}
	var out []Replaced
	add := func(rep Replaced, k rkey, after time.Time) {
		for _, o := range out {
			if keyOf(f.Provider, f.Account, f.Region, o.Resource) == k {
				return
			}
		}
		related[k] = true
		for _, e := range x.touching(k) {
			if !e.succeeded() || e.Time.Before(after) {
				continue
			}
			switch {
			case e.deletion():
				rep.Deleted = append(rep.Deleted, x.touch(e, principal, rep.Resource, steps))
			case e.Operation == "CreateSnapshot" && e.has(k, event.RoleSource),
				e.Provider == event.Azure && strings.HasSuffix(e.op, "snapshots/write") && e.has(k, event.RoleSource):
				rep.Preserved = append(rep.Preserved, x.touch(e, principal, rep.Resource, steps))
			}
		}
		switch {
		case len(rep.Deleted) > 0:
			d := rep.Deleted[0]
			rep.Fate = fmt.Sprintf("deleted %s after the revert's last step by %s: evidence destroyed", human(d.Time.Sub(last)), who(d))
			if d.Time.Before(last) {
				rep.Fate = fmt.Sprintf("deleted at %s by %s: evidence destroyed", d.Time.Format(time.RFC3339), who(d))
			}
		case len(rep.Preserved) > 0:
			rep.Fate = "snapshotted after it was replaced; no deletion in the data"
		default:
			rep.Fate = "no deletion in the data: it may still exist; snapshot and lock it now"
		}
		out = append(out, rep)
	}

	// AWS: volumes detached from the reverted instance around the revert.
	for _, ik := range instances {
		for _, e := range x.touching(ik) {
			if e.Operation != "DetachVolume" || !e.succeeded() || !e.has(ik, event.RoleAttachedTo) ||
				e.Time.Before(first.Add(-w)) || e.Time.After(last) {
				continue
			}
			for i, r := range e.Resources {
				if event.Kind(r.Type) != event.KindVolume {
					continue
				}
				vk := e.key(i)
				if current[vk] {
					continue
				}
				t := x.touch(e, principal, r.UID, steps)
				how := "detached from " + shortID(ik.id)
				if len(e.Devices) > 0 {
					how += " at " + e.Devices[0]
				}
				add(Replaced{Resource: r.UID, Kind: string(event.KindVolume), How: how, Event: &t}, vk, e.Time)
			}
		}
	}
	// AWS relaunch: instances the actor terminated after the launch.
	if len(launched) > 0 {
		for _, e := range x.callsBetween(principal, first, last.Add(w)) {
			if e.Operation != "TerminateInstances" || !e.succeeded() {
				continue
			}
			for i, r := range e.Resources {
				k := e.key(i)
				if event.Kind(r.Type) != event.KindInstance || containsKey(launched, k) {
					continue
				}
				t := x.touch(e, principal, r.UID, steps)
				rep := Replaced{Resource: r.UID, Kind: string(event.KindInstance), How: "terminated by the actor after the relaunch", Event: &t,
					Fate: "terminated: its EBS volumes survive only if DeleteOnTermination was false; look for them with DescribeVolumes"}
				rep.Deleted = []Touch{t}
				out = append(out, rep)
				related[k] = true
			}
		}
	}
	// Azure: the VM's previous OS disk, from an earlier VM write, the
	// restore point's body, or the snapshot's source disk.
	for _, vk := range vms {
		var candidates []string
		for _, e := range x.touching(vk) {
			if !e.succeeded() || !strings.HasSuffix(e.op, "virtualmachines/write") || !e.Time.Before(first) {
				continue
			}
			for _, r := range e.Resources {
				if r.Role == event.RoleAttachedTo && !current[keyOf(e.Provider, "", "", r.UID)] {
					candidates = []string{r.UID} // the latest earlier write wins
				}
			}
		}
		for _, l := range b.Lineage {
			if strings.Contains(strings.ToLower(l.Resource), "/microsoft.compute/disks/") {
				continue
			}
			for _, src := range l.MadeFrom {
				if strings.Contains(strings.ToLower(src), "/microsoft.compute/disks/") && !current[keyOf(event.Azure, "", "", src)] {
					candidates = appendUnique(candidates, src)
				}
			}
		}
		for _, d := range candidates {
			add(Replaced{Resource: d, Kind: string(event.KindDisk), How: "previous OS disk of " + shortID(vk.id)}, keyOf(event.Azure, "", "", d), first)
		}
		if len(candidates) == 0 && swapsOSDisk(steps) {
			b.Notes = append(b.Notes, "the VM's previous OS disk is not named in the data: read the VM's change history (Resource Graph resourcechanges) before it is deleted")
		}
	}
	{
		for _, e := range stepEntries(steps) {
			if e.Operation == "CreateReplaceRootVolumeTask" {
				fate := "kept detached by EC2 (DeleteReplacedRootVolume not set): find it with DescribeReplaceRootVolumeTasks and snapshot it"
				if e.DeleteFlag {
					fate = "deleted by EC2 when the task finished (DeleteReplacedRootVolume=true): evidence destroyed by the request itself"
				}
				t := x.touch(e, principal, "", steps)
				out = append(out, Replaced{Resource: "(replaced root volume)", Kind: string(event.KindVolume),
					How: "replaced by the task; CloudTrail does not name it", Event: &t, Fate: fate})
			}
		}
	}
	return out
}

// swapsOSDisk reports whether a step of the finding writes a VM (the
// write that puts another OS disk in), whatever rule found it.
func swapsOSDisk(steps map[*Entry]string) bool {
	for _, e := range stepEntries(steps) {
		if strings.HasPrefix(e.op, "microsoft.compute/virtualmachines/write") {
			return true
		}
	}
	return false
}

func appendKey(list []rkey, k rkey) []rkey {
	if containsKey(list, k) {
		return list
	}
	return append(list, k)
}

func containsKey(list []rkey, k rkey) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

// deletions lists the calls that destroyed a resource of the finding, its
// lineage or what it replaced (anyone, any time after the first step), and
// every deletion by the actor in the window.
func (x *Index) deletions(principal string, first, until time.Time, related map[rkey]bool, steps map[*Entry]string) []Touch {
	var out []Touch
	lists := x.relatedCalls(related)
	if !until.Before(first) {
		lists = append(lists, x.callsBetween(principal, first, until))
	}
	for _, e := range union(lists...) {
		if !e.deletion() || !e.succeeded() || e.Time.Before(first) {
			continue
		}
		if uid, ok := e.touches(related); ok {
			out = append(out, x.touch(e, principal, uid, steps))
			continue
		}
		if e.Principal == principal && !e.Time.After(until) {
			uid := ""
			if len(e.Resources) > 0 {
				uid = e.Resources[0].UID
			}
			out = append(out, x.touch(e, principal, uid, steps))
		}
	}
	return out
}

// others lists the principals other than the actor who touched a related
// resource, anywhere in the data.
func (x *Index) others(principal string, related map[rkey]bool) []OtherPrincipal {
	by := map[string]*OtherPrincipal{}
	var order []string
	for _, e := range union(x.relatedCalls(related)...) {
		if e.Principal == principal {
			continue
		}
		uid, ok := e.touches(related)
		if !ok {
			continue
		}
		p := by[e.Principal]
		if p == nil {
			p = &OtherPrincipal{Principal: e.Principal, First: e.Time}
			by[e.Principal] = p
			order = append(order, e.Principal)
		}
		p.Calls++
		p.Service = p.Service || e.Service
		p.Operations = appendUnique(p.Operations, e.Operation)
		p.Resources = appendUnique(p.Resources, uid)
		p.Last = e.Time
	}
	out := make([]OtherPrincipal, 0, len(order))
	for _, name := range order {
		p := by[name]
		sort.Strings(p.Operations)
		sort.Strings(p.Resources)
		out = append(out, *p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].First.Equal(out[j].First) {
			return out[i].First.Before(out[j].First)
		}
		return out[i].Principal < out[j].Principal
	})
	return out
}

// timeline gathers the actor's calls in the window, grouped into phases
// and bursts, with the steps marked and repeats folded.
func (x *Index) timeline(b *Bundle, first, last time.Time, max int, related map[rkey]bool, steps map[*Entry]string) ([]Group, []string) {
	notes := b.Notes
	var groups []Group
	var cur *Group
	total, dropped := 0, 0
	for _, e := range x.actorWindow(b, steps) {
		_, isStep := steps[e]
		if !isStep && (e.Principal != b.Principal || e.Time.Before(b.Window.From) || e.Time.After(b.Window.To)) {
			continue
		}
		phase := PhaseRevert
		switch {
		case e.Time.Before(first):
			phase = PhaseBefore
		case e.Time.After(last):
			phase = PhaseAfter
		}
		te := TimelineEntry{
			Time: e.Time, Count: 1, Operation: e.Operation, Outcome: e.Outcome, ReadOnly: e.ReadOnly,
			Step: steps[e], SrcIP: e.SrcIP, UserAgent: e.UserAgent, UID: e.UID, File: e.File, Line: e.Line,
		}
		for _, r := range e.Resources {
			te.Resources = appendUnique(te.Resources, r.UID)
		}
		if isStep {
			te.Tags = append(te.Tags, "step")
		}
		if e.deletion() && e.succeeded() {
			te.Tags = append(te.Tags, "deletion")
		}
		if e.sharing() && e.succeeded() {
			te.Tags = append(te.Tags, "sharing")
		}
		if _, ok := e.touches(related); ok && !isStep {
			te.Tags = append(te.Tags, "related")
		}
		if e.Outcome == "failure" || e.Outcome == "noop" {
			te.Tags = append(te.Tags, e.Outcome)
		}
		if cur == nil || cur.Phase != phase || e.Time.Sub(cur.End) > burstGap {
			groups = append(groups, Group{Phase: phase, Start: e.Time, End: e.Time})
			cur = &groups[len(groups)-1]
		}
		cur.End = e.Time
		if n := len(cur.Entries); n > 0 && !isStep && foldable(&cur.Entries[n-1], &te) {
			p := &cur.Entries[n-1]
			p.Count++
			p.Last = te.Time
			continue
		}
		if total >= max {
			dropped++
			continue
		}
		total++
		cur.Entries = append(cur.Entries, te)
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("timeline cut at %d entries; %d more calls of the actor in the window are not shown", max, dropped))
	}
	// A group emptied by the cap is dropped.
	out := groups[:0]
	for _, g := range groups {
		if len(g.Entries) > 0 {
			out = append(out, g)
		}
	}
	return out, notes
}

// actorWindow returns the finding's steps and the actor's calls in the
// bundle's window, in index order.
func (x *Index) actorWindow(b *Bundle, steps map[*Entry]string) []*Entry {
	var calls []*Entry
	if !b.Window.To.Before(b.Window.From) {
		calls = x.callsBetween(b.Principal, b.Window.From, b.Window.To)
	}
	return union(calls, stepEntries(steps))
}

// stepEntries returns the entries of the finding's steps in index order.
func stepEntries(steps map[*Entry]string) []*Entry {
	out := make([]*Entry, 0, len(steps))
	for e := range steps {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ord < out[j].ord })
	return out
}

// relatedCalls returns the postings of the related resources; the order
// of the lists does not matter, union sorts them.
func (x *Index) relatedCalls(related map[rkey]bool) [][]*Entry {
	lists := make([][]*Entry, 0, len(related))
	for k := range related {
		lists = append(lists, x.touching(k))
	}
	return lists
}

func foldable(prev, te *TimelineEntry) bool {
	return prev.Step == "" && prev.Operation == te.Operation && prev.Outcome == te.Outcome &&
		strings.Join(prev.Resources, ",") == strings.Join(te.Resources, ",") && strings.Join(prev.Tags, ",") == strings.Join(te.Tags, ",")
}

// origins lists the actor's source addresses and user agents in the
// window and whether each is new for the principal within the data.
func (x *Index) origins(b *Bundle, steps map[*Entry]string) []Origin {
	var principalFirst time.Time
	firstUse := map[[2]string]time.Time{}
	for _, e := range x.calls(b.Principal) {
		if principalFirst.IsZero() {
			principalFirst = e.Time
		}
		for _, k := range [][2]string{{"ip", e.SrcIP}, {"user_agent", e.UserAgent}} {
			if k[1] == "" {
				continue
			}
			if _, ok := firstUse[k]; !ok {
				firstUse[k] = e.Time
			}
		}
	}
	by := map[[2]string]*Origin{}
	var order [][2]string
	for _, e := range x.actorWindow(b, steps) {
		_, isStep := steps[e]
		if !isStep && (e.Principal != b.Principal || e.Time.Before(b.Window.From) || e.Time.After(b.Window.To)) {
			continue
		}
		for _, k := range [][2]string{{"ip", e.SrcIP}, {"user_agent", e.UserAgent}} {
			if k[1] == "" {
				continue
			}
			o := by[k]
			if o == nil {
				o = &Origin{Kind: k[0], Value: k[1], FirstUsed: firstUse[k]}
				if o.FirstUsed.IsZero() {
					o.FirstUsed = e.Time
				}
				if principalFirst.IsZero() || !principalFirst.Before(b.Window.From) {
					o.NewUnknown = true
				} else {
					o.New = !o.FirstUsed.Before(b.Window.From)
				}
				by[k] = o
				order = append(order, k)
			}
			o.Calls++
			o.InSteps = o.InSteps || isStep
		}
	}
	out := make([]Origin, 0, len(order))
	for _, k := range order {
		out = append(out, *by[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].FirstUsed.Before(out[j].FirstUsed)
	})
	return out
}

// values are the playbook placeholders this bundle can fill.
func (b *Bundle) values() map[string]string {
	f := &b.Finding
	v := map[string]string{
		"finding": f.ID, "start": b.Window.From.Format(time.RFC3339), "end": b.Window.To.Format(time.RFC3339),
	}
	set := func(k, val string) {
		if v[k] == "" && val != "" {
			v[k] = val
		}
	}
	if f.Provider == event.GCP {
		b.gcpValues(set)
		return v
	}
	if f.Provider == event.AWS {
		set("account", f.Account)
		set("region", f.Region)
		set("principal", f.Actor.UID)
	} else {
		set("subscription", f.Account)
		p := f.Actor.Caller
		if p == "" {
			p = f.Actor.UID
		}
		set("principal", p)
	}
	for _, r := range f.Resources {
		switch event.Kind(r.Type) {
		case event.KindInstance:
			if r.Role != event.RoleSource {
				set("instance", r.UID)
			}
		case event.KindVolume:
			// The volume a snapshot was taken of is not the one restored.
			if r.Role != event.RoleSource {
				set("volume", r.UID)
			}
		case event.KindSnapshot:
			if f.Provider == event.AWS {
				set("snapshot", r.UID)
			} else {
				set("source", r.UID)
			}
		case event.KindImage:
			set("image", r.UID)
		case event.KindDBInstance, event.KindDBCluster:
			if r.Role != event.RoleSource {
				set("db", r.UID)
			}
		case event.KindRestoreTask:
			set("restore_job", r.UID)
		case event.KindVM:
			set("vm", r.UID)
		case event.KindDisk:
			if r.Role == event.RoleSource {
				set("source", r.UID)
			} else {
				set("disk", r.UID)
			}
		case event.KindRecoveryPoint:
			set("source", r.UID)
			set("vault", event.ARMSegment(r.UID, "vaults"))
		}
		if f.Provider == event.Azure {
			set("resource_group", event.ARMResourceGroup(r.UID))
		}
	}
	for _, r := range b.Replaced {
		switch event.Kind(r.Kind) {
		case event.KindVolume:
			if strings.HasPrefix(r.Resource, "vol-") {
				set("replaced_volume", r.Resource)
			}
		case event.KindDisk:
			set("replaced_disk", r.Resource)
		}
	}
	return b.actorValues(v)
}

// gcpValues fills the Google Cloud placeholders: the project, the
// principal's email, and the names (with the zone) of the resources, from
// their paths (projects/{p}/zones/{z}/instances/{name}).
func (b *Bundle) gcpValues(set func(k, val string)) {
	f := &b.Finding
	set("project", f.Account)
	set("principal", f.Actor.Caller)
	for _, r := range f.Resources {
		name := shortID(r.UID)
		switch event.Kind(r.Type) {
		case event.KindInstance:
			if r.Role != event.RoleSource {
				set("gce_instance", name)
				set("zone", gcp.Segment(r.UID, "zones"))
			}
		case event.KindVolume:
			if r.Role != event.RoleSource {
				set("gce_disk", name)
				set("zone", gcp.Segment(r.UID, "zones"))
			}
		case event.KindSnapshot:
			set("gce_snapshot", name)
		case event.KindImage, event.KindMachineImage:
			set("gce_image", name)
		case event.KindRecoveryPoint:
			set("gce_backup", r.UID)
		}
	}
	set("zone", f.Region)
}

// actorValues adds the IAM user, role and access key of the actor, read
// from the steps' raw records through the index entries.
func (b *Bundle) actorValues(v map[string]string) map[string]string {
	if b.actor != nil {
		if v["user"] == "" {
			v["user"] = b.actor.userName
		}
		if v["role"] == "" {
			v["role"] = b.actor.roleName
		}
		if v["access_key"] == "" {
			v["access_key"] = b.actor.accessKey
		}
	}
	return v
}

// shortID is the last path segment of an ARM id, or the id itself.
func shortID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 && i+1 < len(id) {
		return id[i+1:]
	}
	return id
}

func who(t Touch) string {
	if t.ByActor {
		return "the actor"
	}
	return t.Principal
}

// human renders a duration for a person: 2d 3h, 47m, 20s.
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		days := int(d / (24 * time.Hour))
		h := int((d % (24 * time.Hour)) / time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd %dh", days, h)
	case d >= time.Hour:
		h := int(d / time.Hour)
		m := int((d % time.Hour) / time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
