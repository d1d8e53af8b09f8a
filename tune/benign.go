package tune

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed benign.yaml
var benignYAML []byte

// BenignActor is a cloud service or tool whose normal work looks like a
// revert (telemetry.md §7).
type BenignActor struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Provider string `json:"provider"`
	// ServiceInitiated is true for a cloud service acting for a principal;
	// false for a tool a principal runs (Packer).
	ServiceInitiated bool `json:"service_initiated"`
	// CallerSet is true when every mark of the actor is chosen by the
	// caller: such an actor adds context but changes no rating.
	CallerSet   bool     `json:"caller_set"`
	Description string   `json:"description"`
	Sources     []string `json:"sources"`
	// When lists alternative signatures; one matching is enough.
	When []*Match `json:"-"`
	// Signatures describes When, one line per alternative.
	Signatures []string `json:"signatures"`
}

// BenignSet is the versioned list of built-in benign actors.
type BenignSet struct {
	Version string         `json:"version"`
	Actors  []*BenignActor `json:"actors"`
}

var builtin = sync.OnceValue(func() *BenignSet {
	set, err := parseBenign("tune/benign.yaml", benignYAML)
	if err != nil {
		// The data is compiled in and covered by a test; failing here is
		// a build defect, like a bad regexp.MustCompile.
		panic(fmt.Sprintf("built-in benign actors: %v", err))
	}
	return set
})

// Builtin returns the built-in benign actors. The set is shared: do not
// modify it.
func Builtin() *BenignSet { return builtin() }

// Actor returns the actor with the id (case-insensitive), or nil.
func (b *BenignSet) Actor(id string) *BenignActor {
	for _, a := range b.Actors {
		if strings.EqualFold(a.ID, id) {
			return a
		}
	}
	return nil
}

// IDs lists the actor ids in list order.
func (b *BenignSet) IDs() []string {
	out := make([]string, len(b.Actors))
	for i, a := range b.Actors {
		out[i] = a.ID
	}
	return out
}

// recognise returns the ids of the actors whose signature matches s.
func (b *BenignSet) recognise(s *subject) []string {
	var ids []string
	for _, a := range b.Actors {
		if !strings.EqualFold(a.Provider, s.provider) {
			continue
		}
		for _, m := range a.When {
			if m.matches(s) {
				ids = append(ids, a.ID)
				break
			}
		}
	}
	return ids
}

var benignTopKeys = []string{"version", "actors"}
var benignActorKeys = []string{"id", "name", "provider", "service_initiated", "caller_set", "description", "sources", "when"}

func parseBenign(name string, data []byte) (*BenignSet, error) {
	d := &decoder{file: name}
	root := d.parseDocument(data)
	set := &BenignSet{}
	if root == nil && !d.failed() {
		d.errorf(nil, "empty benign actor list")
	}
	if root != nil {
		for _, f := range d.mapping(root, "benign actors", benignTopKeys) {
			switch f.key {
			case "version":
				set.Version, _ = d.scalar(f.v, "version")
			case "actors":
				for _, item := range d.sequence(f.v, "actors") {
					if a := decodeBenignActor(d, item); a != nil {
						if set.Actor(a.ID) != nil {
							d.errorf(item, "actor id %q repeats", a.ID)
							continue
						}
						set.Actors = append(set.Actors, a)
					}
				}
			}
		}
		if set.Version == "" {
			d.errorf(root, "benign actors have no version")
		}
		if len(set.Actors) == 0 && !d.failed() {
			d.errorf(root, "no benign actors")
		}
	}
	if d.failed() {
		d.diags.sort()
		return nil, d.diags
	}
	return set, nil
}

func decodeBenignActor(d *decoder, n *yaml.Node) *BenignActor {
	a := &BenignActor{}
	for _, f := range d.mapping(n, "benign actor", benignActorKeys) {
		switch f.key {
		case "id":
			a.ID, _ = d.scalar(f.v, "id")
		case "name":
			a.Name, _ = d.scalar(f.v, "name")
		case "provider":
			a.Provider, _ = d.scalar(f.v, "provider")
		case "service_initiated":
			a.ServiceInitiated = d.boolean(f.v, "service_initiated")
		case "caller_set":
			a.CallerSet = d.boolean(f.v, "caller_set")
		case "description":
			a.Description, _ = d.scalar(f.v, "description")
		case "sources":
			a.Sources, _ = d.scalars(f.v, "sources")
		case "when":
			for _, item := range d.sequence(f.v, "when") {
				if m := decodeMatch(d, item, nil); m != nil {
					a.When = append(a.When, m)
					a.Signatures = append(a.Signatures, m.String())
				}
			}
		}
	}
	if a.ID == "" || a.Name == "" || a.Provider == "" || len(a.Sources) == 0 || len(a.When) == 0 {
		d.errorf(n, "a benign actor needs id, name, provider, sources and when")
		return nil
	}
	return a
}
