// Package sigma loads Sigma rules — detection rules, correlation rules and
// filters, as the Sigma specification v2.1 defines them — runs them over
// revertwatch's events in event time and lints rule files. It is a Sigma
// engine only: the export of revertwatch's own content as Sigma is in
// package platforms, with the other exports.
//
// Detection rules are matched against the record each event was decoded
// from (event.Event.Raw) by field path: a dotted path walks nested
// objects, fans out over arrays (CloudTrail's "items" lists), and descends
// into JSON carried as a string (Azure's requestbody and responseBody). A
// key is looked up as written first, then ignoring case. Values compare
// case-insensitively unless the cased modifier says otherwise. Azure
// records come in four shapes with different names for the same thing;
// built-in aliases let a rule written for the diagnostic-export shape
// (the one SigmaHQ's rules use) read the REST and Log Analytics shapes
// too, and a mapping file (Config) adds names of the user's own.
//
// Correlation rules (event_count, value_count, temporal, temporal_ordered,
// with aliases, group-by, timespan and generate) run in event time with the
// sequence engine's semantics: events are released in time order per
// scope (provider, account, region) once the watermark — the newest event
// time minus the allowed lateness — has passed them; an older event is
// reported as late and completes no correlation, though single-event rules
// still fire on it. Correlation state is scoped like the engine's keys
// (eventtime.ScopeOf): a correlation never joins events of different
// accounts or regions, and events are de-duplicated by the engine's ids.
//
// A Runner's state — watermarks, buffered occurrences, correlation groups,
// remembered ids, counters — is saved by Snapshot and loaded by Restore,
// deterministically, so that the live modes checkpoint it with the
// engine's and deliver Sigma findings exactly once across restarts.
//
// What a rule uses and this package does not support is reported per rule,
// with its file, line, column and the construct; that rule is not run and
// every other rule is. Nothing is skipped silently.
package sigma
