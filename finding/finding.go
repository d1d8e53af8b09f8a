// Package finding defines what a detection reports — the Finding — and
// renders findings for people and machines: an aligned table, JSON lines,
// OCSF Detection Finding (class 2004) and SARIF 2.1.0.
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// The product, as OCSF and SARIF name it.
const (
	ProductName       = "revertwatch"
	ProductVendor     = "revertwatch"
	ocsfSchemaVersion = "1.8.0"
)

// Actor is who did what a finding reports.
type Actor struct {
	Caller           string   `json:"caller,omitempty"`
	UID              string   `json:"uid,omitempty"`
	Name             string   `json:"name,omitempty"`
	Type             string   `json:"type,omitempty"`
	Role             string   `json:"role,omitempty"`
	AppID            string   `json:"app_id,omitempty"`
	InvokedBy        string   `json:"invoked_by,omitempty"`
	ServiceInitiated bool     `json:"service_initiated"`
	SrcIPs           []string `json:"src_ips,omitempty"`
	UserAgents       []string `json:"user_agents,omitempty"`
}

// Evidence is one event behind a finding.
type Evidence struct {
	Step      string          `json:"step,omitempty"` // the rule step the event satisfied
	UID       string          `json:"uid"`
	Time      time.Time       `json:"time"`
	Operation string          `json:"operation"`
	Outcome   string          `json:"outcome"`
	Caller    string          `json:"caller,omitempty"`
	SrcIP     string          `json:"src_ip,omitempty"`
	File      string          `json:"file,omitempty"`
	Line      int             `json:"line,omitempty"`
	Offset    int64           `json:"offset"`
	Raw       json.RawMessage `json:"raw"`
}

// Finding is one detection: a revert sequence or a native revert call.
type Finding struct {
	// ID names this occurrence: the rule, its scope and the identities of
	// the calls that made it (eventtime.Identity), so it is the same in
	// hunt, watch, serve and every replica, in every export shape and
	// after every re-delivery, and differs for two reverts of one
	// instance on two days.
	ID string `json:"id"`
	// GroupID names the rule and its keys alone: repeats of one revert
	// (the same instance stopped and started daily) share it. A fold of
	// a single-record rule's hits (Hits) names its rule, scope and
	// caller: the folds of one caller on other days share it.
	GroupID       string           `json:"group_id"`
	RuleID        string           `json:"rule_id"`
	Title         string           `json:"title"`
	Description   string           `json:"description,omitempty"`
	Tactic        string           `json:"tactic"`
	TacticID      string           `json:"tactic_id"`
	Technique     string           `json:"technique"`
	TechniqueName string           `json:"technique_name"`
	Tags          []string         `json:"tags,omitempty"`    // ATT&CK and rule tags in Sigma's spelling (attack.t1578.004)
	Severity      string           `json:"severity"`          // a level.Level's word
	Confidence    string           `json:"confidence"`        // a level.Level's word: low, medium or high
	Reasons       []string         `json:"reasons,omitempty"` // why severity or confidence moved
	Provider      string           `json:"provider"`
	Account       string           `json:"account"`
	Region        string           `json:"region,omitempty"`
	Actor         Actor            `json:"actor"`
	Resources     []event.Resource `json:"resources"`
	FirstSeen     time.Time        `json:"first_seen"`
	LastSeen      time.Time        `json:"last_seen"`
	Evidence      []Evidence       `json:"evidence"`
	// Hits is how many records a finding of a single-record Sigma rule
	// folds (hunt at rest: one finding per rule, scope, caller and
	// repeat window), when more than one; its evidence is then the first
	// and the last of them.
	Hits int `json:"hits,omitempty"`
	// Late is set when an event of the finding arrived beyond the
	// allowed lateness and was replayed in its place (live only; nothing
	// is late at rest); LateBy says how late the latest one was.
	Late              bool     `json:"late,omitempty"`
	LateBy            string   `json:"late_by,omitempty"`
	Suppressed        bool     `json:"suppressed"`
	SuppressionReason string   `json:"suppression_reason,omitempty"`
	NextSteps         []string `json:"next_steps"`
}

// StableID is a finding id that does not change between runs over the same
// logs: a hash of the rule and the keys that identify the occurrence.
func StableID(ruleID string, keys ...string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	return "rw-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// NewEvidence records an event as evidence for step.
func NewEvidence(step string, ev *event.Event) Evidence {
	return Evidence{
		Step: step, UID: ev.UID, Time: ev.Time, Operation: ev.OperationName, Outcome: ev.Outcome.String(),
		Caller: ev.Caller, SrcIP: ev.SrcIP, File: ev.Source.Name, Line: ev.Source.Line, Offset: ev.Source.Offset,
		Raw: ev.Raw,
	}
}

// Sort orders findings for output: by first event time, then rule, then id.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.ID < b.ID
	})
}

// ActorOf summarises the actor of an event.
func ActorOf(ev *event.Event) Actor {
	a := Actor{
		Caller: ev.Caller, UID: ev.Actor.UID, Name: ev.Actor.Name, Type: ev.Actor.Type, Role: ev.Actor.Role,
		AppID: ev.Actor.AppID, InvokedBy: ev.Actor.InvokedBy, ServiceInitiated: ev.Actor.ServiceInitiated,
	}
	a.AddContext(ev)
	return a
}

// AddContext adds the source IP and user agent of ev to the actor's lists.
func (a *Actor) AddContext(ev *event.Event) {
	ip := ev.SrcIP
	if ip == "" {
		ip = ev.SrcDomain
	}
	if ip != "" && !contains(a.SrcIPs, ip) {
		a.SrcIPs = append(a.SrcIPs, ip)
	}
	if ev.UserAgent != "" && !contains(a.UserAgents, ev.UserAgent) {
		a.UserAgents = append(a.UserAgents, ev.UserAgent)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resourceIDs are the resources for a table cell, each once; Azure and
// GCP ones by name.
func (f *Finding) resourceIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, r := range f.Resources {
		id := r.UID
		if f.Provider == event.Azure || f.Provider == event.GCP {
			// ARM ids and Compute Engine paths are long: show the name once.
			if i := strings.LastIndexByte(id, '/'); i >= 0 {
				id = id[i+1:]
			}
			if seen[strings.ToLower(id)] {
				continue
			}
			seen[strings.ToLower(id)] = true
		}
		if !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
