// Package explain builds the investigation bundle around a revert finding:
// what a responder asks first when a T1578.004 alert comes in.
//
// From the same logs the finding came from (held in an Index), a Bundle
// gathers the actor's timeline from hours before the first step to hours
// after the last, grouped and with the finding's steps marked; the lineage
// of every resource (where the snapshot or image came from, when and by
// whom, how long before the attack, and what was deleted afterwards); the
// volume, disk or instance the revert replaced and its fate; other
// principals that touched the same resources; the source addresses and
// user agents and whether they are new for the principal within the data;
// and the rule's response playbook with the finding's values filled in.
//
// A bundle renders as Markdown for a ticket, as JSON, and as one
// self-contained HTML page with the timeline drawn.
//
// An Index of every call of a large export holds gigabytes, and the
// findings are known only once the whole export is read (hunt is exact at
// rest). So 'hunt --explain' reads twice: the first read, hunt's own,
// decodes whole only what the rules and the Links need (the relations a
// lineage follows); Build then reads the logs again, decodes whole only
// the records that may concern the findings (Scope), and indexes those.
// The bundles are the ones an Index of every call gives, byte for byte:
// what the scope did not foresee makes Build read again, not guess.
package explain
