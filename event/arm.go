package event

import (
	"strings"
	"unicode/utf8"
)

// Segment names of an Azure Resource Manager id
// (/subscriptions/S/resourceGroups/R/providers/...).
const (
	ARMSubscriptions  = "subscriptions"
	ARMResourceGroups = "resourceGroups"
)

// ARMSegment returns the path segment after the segment name in an Azure
// Resource Manager id, or the zero value when name is absent or last:
// ARMSegment("/subscriptions/S/resourceGroups/R/...", "resourceGroups") is
// "R". Names match case-insensitively, as ARM compares them (exports
// upper-case whole ids); the first occurrence wins.
//
// It is the one reader of ARM ids: the Azure decoder and the partial
// decoder (on the record's bytes, without a copy) must agree on every id,
// and tuning must read the resource group they read.
func ARMSegment[ID ~string | ~[]byte](id ID, name string) ID {
	for {
		i := indexSlash(id)
		if i < 0 {
			var none ID // the last segment has none after it
			return none
		}
		part, rest := id[:i], id[i+1:]
		// Equal lengths first: name is ASCII, and no other spelling of it
		// of the same length folds to it, so this is ASCII case folding.
		if len(part) == len(name) && strings.EqualFold(string(part), name) {
			if j := indexSlash(rest); j >= 0 {
				return rest[:j]
			}
			return rest
		}
		id = rest
	}
}

// ARMSubscription returns the subscription id of an ARM id, as written.
func ARMSubscription[ID ~string | ~[]byte](id ID) ID { return ARMSegment(id, ARMSubscriptions) }

// ARMResourceGroup returns the resource group of an ARM id, as written.
func ARMResourceGroup[ID ~string | ~[]byte](id ID) ID { return ARMSegment(id, ARMResourceGroups) }

func indexSlash[ID ~string | ~[]byte](id ID) int {
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			return i
		}
	}
	return -1
}

// AppendLower appends strings.ToLower(id) to dst, the spelling Azure ids
// compare in: an ASCII id (as ARM ids are) is lowered without a string of
// its own, so that a decoder that only compares or hashes it allocates
// nothing.
func AppendLower(dst []byte, id string) []byte {
	for i := 0; i < len(id); i++ {
		if id[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(id)...)
		}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// LowerIs reports whether the ASCII s, lower-cased, is low, a
// lower-case string at least as long: the compare of a case-insensitive
// pattern without a lower-cased copy of the value.
func LowerIs(s, low string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != low[i] {
			return false
		}
	}
	return true
}

// SameARMID reports whether two ids are one in the spelling Azure ids
// compare in (strings.ToLower of each), without lowering ASCII ids.
func SameARMID(a, b string) bool {
	if len(a) != len(b) {
		// An ASCII id keeps its length lowered.
		if isASCII(a) && isASCII(b) {
			return false
		}
		return lowerEqual(a, b)
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x|y >= utf8.RuneSelf {
			return lowerEqual(a, b)
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lowerEqual is the comparison SameARMID stands for. strings.EqualFold
// is another: it also matches letters whose lower cases differ (the long
// s with s), and it does not turn an invalid byte into U+FFFD as ToLower
// does.
func lowerEqual(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	return la == lb
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
