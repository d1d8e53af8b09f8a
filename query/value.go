package query

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// Kind is the type of a Value.
type Kind uint8

// The value kinds of spec §1. Absent fields and JSON null are both Null.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	KindList
)

var kindNames = [...]string{"null", "string", "number", "bool", "list"}

// String names the kind.
func (k Kind) String() string { return kindNames[k] }

// Value is one field value. The zero Value is Null. Numbers keep an int64
// fast path next to float64. A Value is 40 bytes, not the 64 of a field
// each: an aggregation's result holds tens of thousands of rows of them.
type Value struct {
	kind  Kind
	isInt bool
	b     bool
	n     uint64 // a Number's int64 (isInt) or float64 bits; a List's length
	s     string
	lp    *Value // a List's first item
}

// int returns an integral Number's value.
func (v Value) int() int64 { return int64(v.n) }

// Null is the missing value.
var Null = Value{}

// Str returns a String value.
func Str(s string) Value { return Value{kind: KindString, s: s} }

// Int returns an integer Number.
func Int(i int64) Value { return Value{kind: KindNumber, isInt: true, n: uint64(i)} }

// Float returns a Number; integral values that fit an int64 keep the int
// fast path.
func Float(f float64) Value {
	if f == math.Trunc(f) && f >= -9.2e18 && f <= 9.2e18 {
		return Int(int64(f))
	}
	return floatValue(f)
}

// floatValue is a Number that is f, without Float's int fast path.
func floatValue(f float64) Value { return Value{kind: KindNumber, n: math.Float64bits(f)} }

// Bool returns a Bool value.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// List returns a List value.
func List(vs []Value) Value {
	if len(vs) == 0 {
		return Value{kind: KindList}
	}
	return Value{kind: KindList, n: uint64(len(vs)), lp: &vs[0]}
}

// Kind returns the value's type.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is Null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Items returns the elements of a List, or nil (cap = len, so appending
// copies).
func (v Value) Items() []Value {
	if v.kind != KindList {
		return nil
	}
	return unsafe.Slice(v.lp, v.n)
}

// Bool returns the value of a Bool.
func (v Value) Bool() bool { return v.b }

// String renders the value (spec §7): integers without ".0", floats in the
// shortest form that reads back, bools as true/false, lists as JSON, Null
// as "".
func (v Value) String() string {
	switch v.kind {
	case KindString:
		return v.s
	case KindNumber:
		if v.isInt {
			return strconv.FormatInt(v.int(), 10)
		}
		return formatFloat(v.float())
	case KindBool:
		if v.b {
			return "true"
		}
		return "false"
	case KindList:
		b, _ := json.Marshal(v.jsonValue())
		return string(b)
	}
	return ""
}

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// jsonValue converts v to what encoding/json writes: null, a string, a
// number, a bool or an array.
func (v Value) jsonValue() any {
	switch v.kind {
	case KindString:
		return v.s
	case KindNumber:
		if v.isInt {
			return v.int()
		}
		if math.IsInf(v.float(), 0) || math.IsNaN(v.float()) {
			return formatFloat(v.float())
		}
		return json.Number(formatFloat(v.float()))
	case KindBool:
		return v.b
	case KindList:
		items := v.Items()
		out := make([]any, len(items))
		for i, x := range items {
			out[i] = x.jsonValue()
		}
		return out
	}
	return nil
}

// MarshalJSON writes the value as JSON: null, string, number, bool or array.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.jsonValue()) }

// clone copies the strings of v so that it outlives the buffer it was read
// from.
func (v Value) clone() Value {
	switch v.kind {
	case KindString:
		v.s = strings.Clone(v.s)
	case KindList:
		items := v.Items()
		l := make([]Value, len(items))
		for i, x := range items {
			l[i] = x.clone()
		}
		return List(l)
	}
	return v
}

// number returns v as a number (spec §7): Numbers as they are, Strings that
// parse fully as a number after trimming. ok is false otherwise.
func (v Value) number() (Value, bool) {
	switch v.kind {
	case KindNumber:
		return v, true
	case KindString:
		return parseNumber(v.s)
	}
	return Null, false
}

func parseNumber(s string) (Value, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Null, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Int(i), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Null, false
	}
	return floatValue(f), true
}

func (v Value) float() float64 {
	if v.isInt {
		return float64(int64(v.n))
	}
	return math.Float64frombits(v.n)
}

// truth reads v as a condition: Bools, and the strings "true" and "false"
// in any case (spec §5.5). known is false for Null and for anything else.
func (v Value) truth() (val, known bool) {
	switch v.kind {
	case KindBool:
		return v.b, true
	case KindString:
		if strings.EqualFold(v.s, "true") {
			return true, true
		}
		if strings.EqualFold(v.s, "false") {
			return false, true
		}
	}
	return false, false
}

// compareNumbers orders two Numbers.
func compareNumbers(a, b Value) int {
	if a.isInt && b.isInt {
		switch {
		case a.int() < b.int():
			return -1
		case a.int() > b.int():
			return 1
		}
		return 0
	}
	x, y := a.float(), b.float()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// coerceCompare compares two non-Null values for =, != and the orderings
// (spec §7): numerically when both are numbers or one is a number and the
// other a string that parses fully as one; as booleans when both are
// Bools; otherwise their renderings byte-wise.
func coerceCompare(a, b Value) int {
	switch {
	case a.kind == KindNumber && b.kind == KindNumber:
		return compareNumbers(a, b)
	case a.kind == KindNumber && b.kind == KindString:
		if n, ok := parseNumber(b.s); ok {
			return compareNumbers(a, n)
		}
	case a.kind == KindString && b.kind == KindNumber:
		if n, ok := parseNumber(a.s); ok {
			return compareNumbers(n, b)
		}
	case a.kind == KindBool && b.kind == KindBool:
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	case a.kind == KindString && b.kind == KindString:
		return strings.Compare(a.s, b.s)
	}
	return strings.Compare(a.String(), b.String())
}

// kindRank orders kinds for sorting mixed values: numbers first.
var kindRank = [...]int{KindNumber: 0, KindBool: 1, KindString: 2, KindList: 3, KindNull: 4}

// orderValues is the total order of sort and of group keys (spec §9):
// numbers numerically, strings byte-wise, mixed kinds by kind, Null last.
func orderValues(a, b Value) int {
	if a.kind != b.kind {
		return kindRank[a.kind] - kindRank[b.kind]
	}
	switch a.kind {
	case KindNumber:
		return compareNumbers(a, b)
	case KindString:
		return strings.Compare(a.s, b.s)
	case KindBool:
		return coerceCompare(a, b)
	case KindList:
		return strings.Compare(a.String(), b.String())
	}
	return 0
}

// appendKey appends a typed, unambiguous encoding of v for group keys and
// distinct sets: equal keys mean equal values (case-sensitive).
func appendKey(buf []byte, v Value) []byte {
	buf = append(buf, byte(v.kind))
	switch v.kind {
	case KindString:
		buf = strconv.AppendInt(buf, int64(len(v.s)), 10)
		buf = append(buf, ':')
		buf = append(buf, v.s...)
	case KindNumber:
		if v.isInt {
			buf = strconv.AppendInt(buf, v.int(), 10)
		} else {
			buf = strconv.AppendFloat(buf, v.float(), 'g', -1, 64)
		}
		buf = append(buf, ';')
	case KindBool:
		if v.b {
			buf = append(buf, 't')
		} else {
			buf = append(buf, 'f')
		}
	case KindList:
		s := v.String()
		buf = strconv.AppendInt(buf, int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
	}
	return buf
}
