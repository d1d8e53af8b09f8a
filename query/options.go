package query

// Dialect selects which spellings a query may use (spec §10).
type Dialect uint8

// The dialects.
const (
	// Compat accepts Sumo and the Splunk forms of the seed (eval, stats,
	// matches() as a call) and lowers them to the Sumo meaning.
	Compat Dialect = iota
	// Strict accepts Sumo only; a Splunk form is an error whose help line
	// gives the Sumo spelling.
	Strict
)

// ParseDialect reads "compat" or "sumo".
func ParseDialect(s string) (Dialect, bool) {
	switch s {
	case "compat", "":
		return Compat, true
	case "sumo", "strict":
		return Strict, true
	}
	return Compat, false
}

// String names the dialect as --dialect spells it.
func (d Dialect) String() string {
	if d == Strict {
		return "sumo"
	}
	return "compat"
}

// Semantics holds every point where the Sumo documentation is silent or
// contradictory and the spec ([decide] in sumo-query.md) makes a choice.
// Each field is one switch; DefaultSemantics gives the spec's choices and
// each has a named test (TestDecide...).
type Semantics struct {
	// DefaultSourceHost is _sourceHost when an event has none (§1).
	DefaultSourceHost string
	// FoldFieldNames makes field-name lookup case-insensitive, an exact
	// spelling winning (§1, §8). Off: names must match exactly.
	FoldFieldNames bool
	// LiteralEscapes maps \\ \n \t \r in strings used as plain literals
	// (§2). Regex and glob patterns always see the text as written.
	LiteralEscapes bool
	// KeywordWholeToken makes a bare scope keyword match whole tokens of
	// _raw (§4). Off: a case-insensitive substring match.
	KeywordWholeToken bool
	// JSONMaxDepth is json auto's default maxdepth; 0 is unlimited (§5.1).
	JSONMaxDepth int
	// JSONFieldCap caps the fields json auto extracts; 0 is no cap (§5.1).
	// Applies to the fields listed in output (Sumo extracts at most 100).
	JSONFieldCap int
	// JSONNativeTypes keeps JSON numbers and bools typed (§5.1). Off: every
	// value is a string, as Sumo stores it.
	JSONNativeTypes bool
	// ParseAnchorsFold makes parse anchors case-insensitive (§5.3). The
	// spec's choice is case-sensitive.
	ParseAnchorsFold bool
	// WhereBoolStrings lets where accept the strings "true" and "false"
	// (any case) as booleans (§5.5).
	WhereBoolStrings bool
	// NullAssignRemoves makes assigning Null remove the field (§5.6).
	// Off: the field stays with a Null value.
	NullAssignRemoves bool
	// CountFieldNonNull makes count(x) count rows where x is not Null
	// (§5.7). Off: count(x) counts every row, like count.
	CountFieldNonNull bool
	// ExprInAggWithStats accepts an expression inside count(...) when the
	// Splunk stats keyword is written (§5.7).
	ExprInAggWithStats bool
	// LookupFirstMatch keeps the first of several matching lookup rows
	// (§5.10). Off: the last.
	LookupFirstMatch bool
	// RegexMatchAnchored makes infix x matches /re/ match the whole value
	// (§6.1). Off: an unanchored search.
	RegexMatchAnchored bool
	// CaseConvertNonStrings renders non-strings before toLowerCase and
	// toUpperCase (§6.1). Off: they give Null.
	CaseConvertNonStrings bool
	// ConcatNullAsEmpty treats Null arguments of concat as "" (§6.1).
	// Off: any Null argument makes the result Null.
	ConcatNullAsEmpty bool
	// KeepNullGroups keeps rows whose group key is Null (§6.2). Off
	// (null_groups=drop): such rows are dropped, as Splunk does.
	KeepNullGroups bool
	// EmptyCountRow makes an aggregation without a group clause give one
	// row (count 0) on empty input (§9). Off: no row.
	EmptyCountRow bool
	// ValuesCap is the number of distinct values() keeps: the smallest
	// in sort order (§9); 0 is no cap.
	ValuesCap int
	// SortGroups emits aggregation rows in ascending key order (§9). Off:
	// in order of first appearance.
	SortGroups bool
	// NullsLast sorts Null after everything in either direction (§9).
	// Off: Null sorts as the smallest value.
	NullsLast bool
}

// DefaultSemantics returns the spec's decisions.
func DefaultSemantics() Semantics {
	return Semantics{
		DefaultSourceHost:     "localhost",
		FoldFieldNames:        true,
		LiteralEscapes:        true,
		KeywordWholeToken:     true,
		JSONNativeTypes:       true,
		WhereBoolStrings:      true,
		NullAssignRemoves:     true,
		CountFieldNonNull:     true,
		ExprInAggWithStats:    true,
		LookupFirstMatch:      true,
		RegexMatchAnchored:    true,
		CaseConvertNonStrings: true,
		ConcatNullAsEmpty:     true,
		KeepNullGroups:        true,
		EmptyCountRow:         true,
		ValuesCap:             100,
		SortGroups:            true,
		NullsLast:             true,
	}
}

// Options control compilation.
type Options struct {
	Dialect   Dialect
	Semantics Semantics
	// LookupDir is where lookup tables are read from: a lookup source
	// path://"x.csv" or "x.csv" names LookupDir/x.csv. Absolute paths are
	// used as they are.
	LookupDir string
	// NoSeedAliases turns off the seed aliases of DESIGN.md §4
	// (operationName, caller, resourceGroup): a field is then only what the
	// record holds, as in Sumo without CSE normalisation. Metadata
	// (_sourceHost, _sourceCategory, _sourceName, _messageTime) stays.
	NoSeedAliases bool
}

// DefaultOptions returns the compat dialect with the spec's semantics.
func DefaultOptions() Options {
	return Options{Dialect: Compat, Semantics: DefaultSemantics()}
}
