package eventtime

import (
	"bytes"
	"strings"

	"github.com/revertwatch/revertwatch/event"
)

// Less is the one order of events that does not depend on their arrival:
// event time, then the record's id, then what tells copies of one record
// apart (its delivery format, its bytes, where it was read). Logs at rest
// are put in this order before any rule sees them, so that which of two
// copies of a record is kept, and which of two calls of the same second
// comes first, is the same for any order of records and files.
func Less(a, b *event.Event) bool { return Compare(a, b) < 0 }

// Compare is Less as a three-way comparison.
func Compare(a, b *event.Event) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := strings.Compare(a.UID, b.UID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Provider, b.Provider); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Format), string(b.Format)); c != 0 {
		return c
	}
	if c := bytes.Compare(a.Raw, b.Raw); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source.Name, b.Source.Name); c != 0 {
		return c
	}
	if a.Source.Offset != b.Source.Offset {
		return cmpInt(a.Source.Offset, b.Source.Offset)
	}
	return cmpInt(int64(a.Source.Sub), int64(b.Source.Sub))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Identity names the call a record is about, the same in every export
// shape and every re-delivery: for an Azure operation its correlation id,
// operation and resource (its Start, Accept and Success records, in REST,
// diagnostic or Log Analytics form, are one call); for a CloudTrail
// re-delivery the original event id; else the record's event id.
// Finding ids are built from the identities of their events.
func Identity(ev *event.Event) string {
	if event.Phased(ev.Provider) && ev.CorrelationUID != "" {
		return "op:" + strings.ToLower(ev.CorrelationUID) + "|" + strings.ToLower(ev.Operation) + "|" + strings.ToLower(ev.ResourceID)
	}
	if ev.OriginalUID != "" {
		return ev.OriginalUID
	}
	return ev.UID
}
