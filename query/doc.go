// Package query runs Sumo Logic pipeline queries over revertwatch events.
//
// Compile parses a query (package syntax), checks it against the function
// registry, lowers the Splunk forms of the seed detection (eval, stats,
// matches() as a call) to their Sumo meaning, compiles constant regexes
// and globs once, and plans expressions into closures and stages into a
// chain. A Runner pushes events through the chain; aggregations, sorts and
// bucketed timeslices are barriers whose output feeds the stages after
// them. Output is deterministic: groups come in key order and sorts are
// stable.
//
// Field names resolve against the record's own fields (after json auto or
// other extraction) first, then against the seed aliases of DESIGN.md §4
// (event.Event.Alias), so the seed query runs on CloudTrail and on every
// Azure Activity Log shape. Names compare case-insensitively; an exact
// spelling wins. Absent fields are Null and logic is three-valued.
//
// The semantics are those of docs/sumo-query.md; each of its [decide]
// points is one field of Semantics.
package query
