package explain

import (
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
)

// Links are the relations between resources that a bundle follows beyond
// the finding's own: what each snapshot, volume, image or disk was made
// from, the volumes detached from each instance, the disks each VM was
// written with, the instances each principal terminated. They are
// gathered from the whole events of a first read (hunt's), before the
// findings are known, so that the second read (Build) can keep the calls
// on every resource a bundle will ask about at once instead of finding
// the lineage one generation per read.
//
// Links hold a few ids per call that makes or replaces a resource, not
// the calls themselves; a relation they miss (an operation LinkWants does
// not name) costs Build another read, not a wrong bundle.
type Links struct {
	made       map[rkey][]rkey // resource → what it was made from
	body       map[rkey][]rkey // Azure restore point → the disks its body names
	detached   map[rkey][]rkey // instance → volumes detached from it
	attached   map[rkey][]rkey // Azure VM → disks a write attached
	forward    map[rkey][]rkey // Azure: a resource a body names → the operation's own resource
	terminated map[string][]termination
}

// termination is a TerminateInstances call of a principal.
type termination struct {
	at        time.Time
	instances []rkey
}

// NewLinks returns empty links.
func NewLinks() *Links {
	return &Links{made: map[rkey][]rkey{}, body: map[rkey][]rkey{}, detached: map[rkey][]rkey{},
		attached: map[rkey][]rkey{}, forward: map[rkey][]rkey{}, terminated: map[string][]termination{}}
}

// LinkWants reports whether Links needs whole events of an operation
// (ingest.Options.Want): the calls that relate resources as a bundle
// follows them, which the field catalog names (catalog.Relates). It is
// safe to call from several goroutines.
func LinkWants(provider, op string) bool { return catalog.Relates(provider, op) }

// Add records the relations an event states. Partial events (no
// resources) state none; nothing of the event is kept but ids.
func (l *Links) Add(ev *event.Event) {
	if ev == nil || len(ev.Resources) == 0 {
		return
	}
	key := func(uid string) rkey { return keyOf(ev.Provider, ev.Account, ev.Region, uid) }
	op := strings.ToLower(ev.Operation)
	var sources, attachedTo, bodyDisks []rkey
	for _, r := range ev.Resources {
		switch r.Role {
		case event.RoleSource:
			sources = appendKey(sources, key(r.UID))
		case event.RoleAttachedTo:
			attachedTo = appendKey(attachedTo, key(r.UID))
		}
	}
	if strings.Contains(op, "/restorepoints/write") {
		for _, d := range diskIDs(ev.Request, diskIDs(ev.Response, nil)) {
			bodyDisks = appendKey(bodyDisks, keyOf(event.Azure, "", "", d))
		}
	}
	if len(sources) > 0 || len(bodyDisks) > 0 {
		// Most calls create what they were made from nothing: the keys
		// of what they created are made only for the others.
		var created []rkey
		for _, r := range ev.Resources {
			if r.Role == event.RoleCreated {
				created = appendKey(created, key(r.UID))
			}
		}
		for _, c := range created {
			if len(sources) > 0 {
				l.made[c] = appendKeys(l.made[c], sources...)
			}
			if len(bodyDisks) > 0 {
				l.body[c] = appendKeys(l.body[c], bodyDisks...)
			}
		}
	}
	switch {
	case ev.Operation == "DetachVolume":
		var volumes []rkey
		for _, r := range ev.Resources {
			if event.Kind(r.Type) == event.KindVolume {
				volumes = appendKey(volumes, key(r.UID))
			}
		}
		for _, ik := range attachedTo {
			if len(volumes) > 0 {
				l.detached[ik] = appendKeys(l.detached[ik], volumes...)
			}
		}
	case ev.Operation == "TerminateInstances":
		var instances []rkey
		for _, r := range ev.Resources {
			if event.Kind(r.Type) == event.KindInstance {
				instances = appendKey(instances, key(r.UID))
			}
		}
		if len(instances) > 0 {
			p := principalOf(ev)
			l.terminated[p] = append(l.terminated[p], termination{ev.Time, instances})
		}
	case ev.Provider == event.Azure && strings.HasSuffix(op, "virtualmachines/write"):
		for _, r := range ev.Resources {
			if r.Role != event.RoleAttachedTo && len(attachedTo) > 0 {
				k := key(r.UID)
				l.attached[k] = appendKeys(l.attached[k], attachedTo...)
			}
		}
	}
	if ev.Provider == event.Azure && ev.ResourceID != "" {
		var own rkey
		for _, r := range ev.Resources {
			// An Azure key is the id lower-cased: a resource spelt as
			// the operation's own, in any case, is it.
			if event.SameARMID(r.UID, ev.ResourceID) {
				continue
			}
			if own.id == "" {
				own = keyOf(event.Azure, "", "", ev.ResourceID)
			}
			if k := key(r.UID); k != own {
				l.forward[k] = appendKeys(l.forward[k], own)
			}
		}
	}
}

// closure calls add with every resource the bundle of f may ask about:
// the finding's resources and their lineage as far as the links go, what
// the revert may have replaced, and, for Azure, the resources of the
// operations whose bodies name one of them. It is a superset of what
// Index.Explain walks (every origin, not only the first); l may be nil.
func (l *Links) closure(f *finding.Finding, principal string, first, last time.Time, w time.Duration, add func(rkey)) {
	if l == nil {
		l = &Links{} // nil maps read as empty
	}
	seen := map[rkey]bool{}
	var all []rkey
	mark := func(k rkey) {
		if !seen[k] {
			seen[k] = true
			all = append(all, k)
		}
	}
	var queue []rkey
	for _, r := range f.Resources {
		k := keyOf(f.Provider, f.Account, f.Region, r.UID)
		if !seen[k] {
			mark(k)
			queue = append(queue, k)
		}
	}
	for n := 0; len(queue) > 0 && n < maxLineage; n++ {
		k := queue[0]
		queue = queue[1:]
		next := l.made[k]
		if k.provider == event.Azure {
			if i := strings.Index(k.id, "/diskrestorepoints/"); i > 0 {
				next = append(next[:len(next):len(next)], rkey{event.Azure, "", k.id[:i]})
			}
		}
		for _, s := range next {
			if !seen[s] {
				mark(s)
				queue = append(queue, s)
			}
		}
		for _, d := range l.body[k] {
			mark(d)
		}
	}
	launched := false
	for _, r := range f.Resources {
		k := keyOf(f.Provider, f.Account, f.Region, r.UID)
		switch event.Kind(r.Type) {
		case event.KindInstance:
			if r.Role == event.RoleCreated {
				launched = true
			} else {
				for _, v := range l.detached[k] {
					mark(v)
				}
			}
		case event.KindVM:
			for _, d := range l.attached[k] {
				mark(d)
			}
		}
	}
	if launched {
		for _, t := range l.terminated[principal] {
			if !t.at.Before(first) && !t.at.After(last.Add(w)) {
				for _, k := range t.instances {
					mark(k)
				}
			}
		}
	}
	for _, k := range all {
		add(k)
		for _, own := range l.forward[k] {
			add(own)
		}
	}
}

// appendKeys adds keys to a relation's list. Only a repeat of the last
// is left out (the records of one operation): a resource many calls
// relate to would make a full check quadratic, and closure dedupes.
func appendKeys(list []rkey, more ...rkey) []rkey {
	for _, k := range more {
		if n := len(list); n == 0 || list[n-1] != k {
			list = append(list, k)
		}
	}
	return list
}
