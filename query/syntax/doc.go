// Package syntax reads the Sumo Logic pipeline language, in the superset the
// seed detection is written in: Sumo's own forms plus the Splunk forms
// (eval, stats, matches() as a call) it borrows.
//
// A two-mode lexer (scope terms before the first '|', pipeline expressions
// after) feeds a hand-written recursive-descent parser. Every node carries
// its byte span, and String prints a query back in a form that parses to
// the same tree. Errors are collected, not only the first, and render as
// query:LINE:COL with the source line, a caret and a help line.
//
// The package knows nothing of records or evaluation; package query checks,
// lowers and runs what it produces.
package syntax
