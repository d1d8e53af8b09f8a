package detect

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/finding"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/sigma"
)

// newSigma starts the Sigma runner over the loaded rules, if any.
func (d *Detector) newSigma() {
	if d.opt.Rules == nil {
		return
	}
	d.sig = d.newRunner()
}

// newRunner makes a Sigma runner over the loaded rules with the
// Detector's settings.
func (d *Detector) newRunner() *sigma.Runner {
	lateness := d.opt.Lateness
	if lateness == 0 && d.opt.Config != nil {
		lateness = d.opt.Config.Lateness
	}
	onLate := d.opt.OnLate
	if !d.opt.NoBuiltin {
		// The engine already names late events; say it once.
		onLate = nil
	}
	return sigma.NewRunner(d.opt.Rules, sigma.RunOptions{Lateness: lateness, OnHit: d.sigmaHit, OnLate: onLate, Direct: d.direct})
}

// sigmaHandler hands the engine core's releases to the Detector's current
// Sigma runner (Restore replaces it).
type sigmaHandler struct{ d *Detector }

func (h sigmaHandler) Release(s *eventtime.ScopeState, r *eventtime.Release) { h.d.sig.Release(s, r) }
func (h sigmaHandler) Reset(s *eventtime.ScopeState)                         { h.d.sig.Reset(s) }
func (h sigmaHandler) Expire(s *eventtime.ScopeState)                        { h.d.sig.Expire(s) }

// sigmaHit turns a Sigma hit into a finding and reports it through the
// same tuning as the built-in content.
func (d *Detector) sigmaHit(h *sigma.Hit) {
	evs := make([]*event.Event, len(h.Events))
	for i, e := range h.Events {
		evs[i] = e.Event
		if d.raws != nil {
			d.restore(e.Event)
		}
	}
	d.report(FromHit(h), evs)
}

// sigmaRules describes the loaded Sigma rules that report on their own.
func (d *Detector) sigmaRules() []finding.RuleInfo {
	if d.opt.Rules == nil {
		return nil
	}
	var out []finding.RuleInfo
	for _, r := range d.opt.Rules.Rules {
		if r.Kind == sigma.KindFilter {
			continue
		}
		out = append(out, finding.RuleInfo{ID: r.Ref(), Title: r.Title, Description: r.Description, Severity: level.FromSigma(r.Level).String()})
	}
	return out
}

// FromHit turns a Sigma hit into a finding: the rule's title and
// description, its level as the severity, its ATT&CK tags as the tactic
// and technique, every event as evidence, and a stable id from the rule,
// the group-by values and the events.
func FromHit(h *sigma.Hit) finding.Finding {
	r := h.Rule
	f := finding.Finding{
		RuleID: r.Ref(), Title: r.Title, Description: r.Description,
		Severity: level.FromSigma(r.Level).String(), Confidence: level.Medium.String(),
		FirstSeen: h.First, LastSeen: h.Last, NextSteps: []string{},
	}
	for _, t := range r.Tags {
		t = strings.ToLower(t)
		name, ok := strings.CutPrefix(t, "attack.")
		if !ok {
			continue
		}
		if tac, ok := attack.TacticByTag(name); ok && f.TacticID == "" {
			f.TacticID, f.Tactic = tac.ID, tac.Name
		}
		if len(name) > 1 && name[0] == 't' && name[1] >= '0' && name[1] <= '9' {
			id := strings.ToUpper(name)
			// The most specific technique wins: T1578.004 over T1578.
			if len(id) > len(f.Technique) {
				f.Technique = id
			}
		}
	}
	if t := attack.RevertCloudInstance.SubTechnique; f.Technique == t.ID {
		f.TechniqueName = t.Name
	}
	f.Reasons = append(f.Reasons, fmt.Sprintf("Sigma %s rule %s (%s)", r.Kind, r.Ref(), r.Pos()))
	if len(r.Tags) > 0 {
		f.Tags = append([]string(nil), r.Tags...)
	}
	keys := []string{}
	var ids []string
	for _, g := range h.Group {
		f.Reasons = append(f.Reasons, fmt.Sprintf("grouped by %s = %s", g.Field, g.Value))
		keys = append(keys, g.Field+"="+g.Value)
	}
	for _, fp := range r.FalsePositives {
		f.NextSteps = append(f.NextSteps, "Rule out a known false positive: "+fp)
	}
	var actorSet bool
	for _, e := range h.Events {
		ev := e.Event
		if !actorSet {
			f.Provider, f.Account, f.Region = ev.Provider, ev.Account, ev.Region
			f.Actor, actorSet = finding.ActorOf(ev), true
		} else {
			f.Actor.AddContext(ev)
		}
		f.Evidence = append(f.Evidence, finding.NewEvidence(e.Rule, ev))
		for _, res := range ev.Resources {
			if !hasResource(f.Resources, res) {
				f.Resources = append(f.Resources, res)
			}
		}
		ids = append(ids, eventtime.Identity(ev))
	}
	if f.Resources == nil {
		f.Resources = []event.Resource{}
	}
	sort.SliceStable(f.Evidence, func(i, j int) bool { return f.Evidence[i].Time.Before(f.Evidence[j].Time) })
	scope := eventtime.Canonical(eventtime.Scope{Provider: f.Provider, Account: f.Account, Region: f.Region})
	f.GroupID = finding.StableID(r.Ref(), append([]string{scope.Provider, scope.Account, scope.Region}, keys...)...)
	sort.Strings(ids)
	f.ID = finding.StableID(r.Ref(), append(append([]string{"occurrence", scope.Provider, scope.Account, scope.Region}, keys...), ids...)...)
	return f
}

func hasResource(list []event.Resource, r event.Resource) bool {
	for _, x := range list {
		if x.UID == r.UID && x.Type == r.Type && x.Role == r.Role {
			return true
		}
	}
	return false
}
