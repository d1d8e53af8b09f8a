package platforms

import (
	"fmt"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/content/catalog"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// ref is where a rule field lives in a raw record, as the platform
// exports write it: AWS paths are CloudTrail record paths in which a "[]"
// segment marks a list whose members are all searched; Azure paths
// either name a top-level record field or, with body set, a path inside
// the JSON-string response body.
type ref struct {
	path string
	body bool // Azure: inside properties.responseBody
	list bool // the path crosses a list: several values per record
}

// refFor returns where a field of a step's operation is (from the field
// catalog), or false when the export cannot reach it. Of an Azure body
// key it takes the response body, which is logged for every accepted
// write (the request body only on Start).
func refFor(provider, op string, f sequence.Field) (ref, bool) {
	paths := catalog.Paths(provider, op, catalog.Key(f.String()))
	if len(paths) == 0 {
		return ref{}, false
	}
	p := paths[0]
	if provider == event.Azure {
		p = paths[len(paths)-1]
		return ref{path: p.Path, body: p.Body != catalog.Record, list: p.List()}, true
	}
	return ref{path: ctPath(p), list: p.List()}, true
}

// ctPath writes a catalog path as a CloudTrail record path.
func ctPath(p catalog.Path) string {
	switch p.Body {
	case catalog.Request:
		return "requestParameters." + p.Path
	case catalog.Response:
		return "responseElements." + p.Path
	}
	return p.Path
}

// azureBody returns the path, inside an Azure response body, of a key
// some write logs in its body: the exports that parse the body into
// provider-wide columns read it there.
func azureBody(k catalog.Key) string {
	for _, o := range catalog.Ops(event.Azure) {
		if fl, ok := o.Field(k); ok && fl.Derived == "" {
			for _, p := range fl.Paths {
				if p.Body == catalog.Response {
					return p.Path
				}
			}
		}
	}
	return ""
}

// Detection is a revert detection as the exports see it: the rule's
// steps, its required contexts, and what it supersedes.
type Detection struct {
	ID          string
	Title       string
	Provider    string
	Window      time.Duration
	Steps       []sequence.Step
	Required    []sequence.Context
	Supersedes  []string
	Description string
}

// Detections returns the built-in revert detections in content order
// that the query exports (Sumo, SPL, KQL, EQL, SQL, the hunting queries)
// write: AWS, Azure and Google Cloud.
func Detections() []Detection {
	var out []Detection
	for _, d := range content.Reverts() {
		det := Detection{ID: d.ID(), Title: d.Title, Description: d.Description, Window: d.Rule.Window,
			Steps: d.Rule.Steps, Supersedes: d.Rule.Supersedes}
		if det.Window == 0 {
			det.Window = sequence.DefaultWindow
		}
		for _, c := range d.Rule.Context {
			if c.Required {
				det.Required = append(det.Required, c)
			}
		}
		if len(det.Steps) > 0 {
			det.Provider = det.Steps[0].Provider
		}
		out = append(out, det)
	}
	return out
}

// bindings lists the rule's binding names in declaration order, as the
// engine reports them in a match.
func (d *Detection) bindings() []string {
	var out []string
	for _, st := range d.Steps {
		for _, b := range st.Bind {
			if !contains(out, b.Name) {
				out = append(out, b.Name)
			}
		}
	}
	return out
}

// bindStep returns the index of the first step that binds name.
func (d *Detection) bindStep(name string) int {
	for i, st := range d.Steps {
		for _, b := range st.Bind {
			if b.Name == name {
				return i
			}
		}
	}
	return -1
}

// opsByRef groups a step's operations by where the field is: the exports
// need one expression per group.
func opsByRef(provider string, ops []string, f sequence.Field) (groups [][]string, refs []ref, missing []string) {
	idx := map[string]int{}
	for _, op := range ops {
		r, ok := refFor(provider, op, f)
		if !ok {
			missing = append(missing, op)
			continue
		}
		key := fmt.Sprint(r)
		i, seen := idx[key]
		if !seen {
			i = len(groups)
			idx[key] = i
			groups = append(groups, nil)
			refs = append(refs, r)
		}
		groups[i] = append(groups[i], op)
	}
	return groups, refs, missing
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}
