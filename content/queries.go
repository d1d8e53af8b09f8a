package content

import (
	_ "embed" // the seed query text
	"sort"
)

// Builtin is a query that ships with revertwatch.
type Builtin struct {
	ID          string // stable id, used by --builtin and rules show
	Title       string
	Language    string // the query language: "sumo"
	Source      string // where the text comes from
	Text        string // the query exactly as published
	DataSources []string
}

//go:embed queries/t1578.004-sumo.sumo
var seedSumo string

var builtins = map[string]Builtin{
	"t1578.004-sumo": {
		ID:          "t1578.004-sumo",
		Title:       "Detect Revert Cloud Instance in Sumo Logic CSE",
		Language:    "sumo",
		Source:      "seed document T1578.004-sumo-logic-cse.txt, \"Sumo Detection Query\"",
		Text:        seedSumo,
		DataSources: []string{"Azure Activity Logs", "AWS CloudTrail"},
	},
}

// Query returns the built-in query with the given id.
func Query(id string) (Builtin, bool) {
	b, ok := builtins[id]
	return b, ok
}

// Queries returns every built-in query, ordered by id.
func Queries() []Builtin {
	out := make([]Builtin, 0, len(builtins))
	for _, b := range builtins {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
