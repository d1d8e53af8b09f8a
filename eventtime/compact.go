package eventtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unsafe"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/binread"
	"github.com/revertwatch/revertwatch/internal/strnum"
)

// The compact form is how the Sorter holds an event, in memory and in
// its runs on disk: every field of event.Event, in binary, with the
// strings that repeat across a log (accounts, regions, operations,
// callers, file names) written once in a table and named by number. A
// held CloudTrail event whose record waits on disk takes about 480 bytes
// this way, against some 1,700 as an event.Event.
//
// The fields Compare reads come first, so that the Sorter orders events
// without decoding them.

// encoder appends compact events to b. With no table, every string is
// written out in full (the runs on disk are self-contained).
type encoder struct {
	b     []byte
	tab   *strnum.Table
	added int64 // bytes the table grew by
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// str writes s in full (an even length prefix), or, when common and the
// table has room, as its number in the table (odd).
func (e *encoder) str(s string, common bool) {
	if common && e.tab != nil && s != "" {
		id, added, ok := e.tab.Number(s)
		if added {
			e.added += int64(len(s)) + 64 // the string, its header and its map entry
		}
		if ok {
			e.uvarint(uint64(id)<<1 | 1)
			return
		}
	}
	e.uvarint(uint64(len(s)) << 1)
	e.b = append(e.b, s...)
}

// strs writes a list: its length plus one, 0 for nil.
func (e *encoder) strs(l []string, common bool) {
	if l == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(l)) + 1)
	for _, s := range l {
		e.str(s, common)
	}
}

// bytes writes b: its length plus one, 0 for nil.
func (e *encoder) bytes(b []byte) {
	if b == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(b)) + 1)
	e.b = append(e.b, b...)
}

// part writes a request or response: as a span of the record's bytes when
// it is one (event.ShareBodies), else as bytes of its own.
func (e *encoder) part(raw, b []byte) {
	if len(b) > 0 && len(raw) > 0 {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if at >= start && at+uintptr(len(b)) <= start+uintptr(len(raw)) {
			e.b = append(e.b, 1)
			e.uvarint(uint64(at - start))
			e.uvarint(uint64(len(b)))
			return
		}
	}
	e.b = append(e.b, 0)
	e.bytes(b)
}

// Time zones of the compact form.
const (
	zoneUTC   = 0
	zoneLocal = 1
	zoneFixed = 2
)

func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	switch loc := t.Location(); loc {
	case time.UTC:
		e.b = append(e.b, zoneUTC)
	case time.Local:
		e.b = append(e.b, zoneLocal)
	default:
		name, off := t.Zone()
		e.b = append(e.b, zoneFixed)
		e.varint(int64(off))
		e.str(name, true)
	}
}

// appendCompact appends ev's compact form to b.
func appendCompact(b []byte, ev *event.Event, tab *strnum.Table) (out []byte, added int64) {
	e := encoder{b: b, tab: tab}
	// What Compare reads, in its order (but the time, which the Sorter
	// keeps beside the bytes).
	e.time(ev.Time)
	e.str(ev.UID, false)
	e.str(ev.Provider, true)
	e.str(string(ev.Format), true)
	e.bytes(ev.Raw)
	e.str(ev.Source.Name, true)
	e.varint(ev.Source.Offset)
	e.varint(int64(ev.Source.Sub))

	e.str(ev.TimeField, true)
	e.time(ev.LoggedTime)
	e.str(ev.CorrelationUID, false)
	e.str(ev.OriginalUID, false)
	e.str(ev.Account, true)
	e.str(ev.Tenant, true)
	e.str(ev.Region, true)
	e.str(ev.Service, true)
	e.str(ev.Operation, true)
	e.str(ev.OperationName, true)
	e.str(ev.EventType, true)
	e.bool(ev.ReadOnly)
	e.uvarint(uint64(ev.Outcome))
	e.str(string(ev.Phase), true)
	e.str(ev.ErrorCode, true)
	e.str(ev.ErrorMessage, false)
	e.str(ev.StatusCode, true)

	a := &ev.Actor
	e.str(a.UID, true)
	e.str(a.Name, true)
	e.str(a.Type, true)
	e.str(a.Account, true)
	e.str(a.PrincipalID, true)
	e.str(a.AccessKeyID, false)
	e.str(a.Role, true)
	e.str(a.AppID, true)
	e.str(a.InvokedBy, true)
	e.bool(a.ServiceInitiated)
	e.bool(a.MFA)
	e.bool(a.ConsoleSession)
	e.str(a.Delegation, true)

	e.str(ev.Caller, true)
	e.str(ev.SrcIP, true)
	e.str(ev.SrcDomain, true)
	e.str(ev.UserAgent, true)
	e.str(ev.ResourceGroup, true)
	e.str(ev.ResourceID, false)
	if ev.Resources == nil {
		e.uvarint(0)
	} else {
		e.uvarint(uint64(len(ev.Resources)) + 1)
		for _, r := range ev.Resources {
			e.str(r.UID, false)
			e.str(r.Type, true)
			e.str(r.Role, true)
		}
	}

	k := &ev.Keys
	for _, l := range [...][]string{k.Instances, k.SourceInstances, k.Volumes, k.SourceVolumes, k.Snapshots, k.SourceSnapshots, k.Images} {
		e.strs(l, false)
	}
	e.strs(k.Devices, true)
	e.str(k.RootDeviceName, true)
	for _, s := range [...]string{k.RestoreTask, k.DBInstance, k.SourceDBInstance, k.DBCluster, k.DBSnapshot, k.RestoreTime, k.RecoveryPoint, k.Disk, k.VM, k.OSDisk, k.SourceResource} {
		e.str(s, false)
	}
	e.str(k.CreateOption, true)

	e.part(ev.Raw, ev.Request)
	e.part(ev.Raw, ev.Response)
	e.strs(ev.Notes, true)
	s := &ev.Source
	e.str(s.Category, true)
	e.str(s.Host, true)
	e.varint(int64(s.Line))
	e.varint(int64(s.Index))
	e.str(s.Header, true)
	return e.b, e.added
}

var errCompact = errors.New("a held event is damaged")

// decoder reads the compact form. With view, strings and byte fields
// point into the bytes read, which must then never change; else they are
// copied.
type decoder struct {
	binread.Reader
	tab  *strnum.Table
	view bool
}

func newDecoder(b []byte, tab *strnum.Table, view bool) decoder {
	return decoder{Reader: binread.New(b, errCompact), tab: tab, view: view}
}

func (d *decoder) bool() bool { return d.Byte() != 0 }

func (d *decoder) str() string {
	v := d.Uvarint()
	if v&1 == 1 {
		s, ok := d.tab.String(v >> 1)
		if !ok {
			d.Fail()
		}
		return s
	}
	p := d.Take(v >> 1)
	if len(p) == 0 {
		return ""
	}
	if d.view {
		return unsafe.String(unsafe.SliceData(p), len(p))
	}
	return string(p)
}

func (d *decoder) strs() []string {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.B)) { // each string takes a byte at least
		d.Fail()
		return nil
	}
	l := make([]string, n-1)
	for i := range l {
		l[i] = d.str()
	}
	return l
}

func (d *decoder) bytes() []byte {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	p := d.Take(n - 1)
	if p == nil {
		return []byte{}
	}
	if d.view {
		return p
	}
	return append([]byte{}, p...)
}

func (d *decoder) part(raw []byte) []byte {
	if d.Byte() == 0 {
		return d.bytes()
	}
	at, n := d.Uvarint(), d.Uvarint()
	if at > uint64(len(raw)) || n > uint64(len(raw))-at {
		d.Fail()
		return nil
	}
	return raw[at : at+n : at+n]
}

func (d *decoder) time() time.Time {
	sec, nsec := d.Varint(), d.Uvarint()
	if nsec >= 1e9 {
		d.Fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	switch d.Byte() {
	case zoneUTC:
		return t.UTC()
	case zoneLocal:
		return t
	case zoneFixed:
		off := d.Varint()
		name := d.str()
		if off < -1<<20 || off > 1<<20 {
			d.Fail()
			return time.Time{}
		}
		return t.In(time.FixedZone(name, int(off)))
	}
	d.Fail()
	return time.Time{}
}

// decodeCompact reads one event in the compact form, all of b.
func decodeCompact(b []byte, tab *strnum.Table, view bool) (*event.Event, error) {
	d := newDecoder(b, tab, view)
	ev := &event.Event{}
	ev.Time = d.time()
	ev.UID = d.str()
	ev.Provider = d.str()
	ev.Format = event.Format(d.str())
	ev.Raw = d.bytes()
	ev.Source.Name = d.str()
	ev.Source.Offset = d.Varint()
	ev.Source.Sub = int(d.Varint())

	ev.TimeField = d.str()
	ev.LoggedTime = d.time()
	ev.CorrelationUID = d.str()
	ev.OriginalUID = d.str()
	ev.Account = d.str()
	ev.Tenant = d.str()
	ev.Region = d.str()
	ev.Service = d.str()
	ev.Operation = d.str()
	ev.OperationName = d.str()
	ev.EventType = d.str()
	ev.ReadOnly = d.bool()
	ev.Outcome = event.Outcome(d.Uvarint())
	ev.Phase = event.Phase(d.str())
	ev.ErrorCode = d.str()
	ev.ErrorMessage = d.str()
	ev.StatusCode = d.str()

	a := &ev.Actor
	a.UID = d.str()
	a.Name = d.str()
	a.Type = d.str()
	a.Account = d.str()
	a.PrincipalID = d.str()
	a.AccessKeyID = d.str()
	a.Role = d.str()
	a.AppID = d.str()
	a.InvokedBy = d.str()
	a.ServiceInitiated = d.bool()
	a.MFA = d.bool()
	a.ConsoleSession = d.bool()
	a.Delegation = d.str()

	ev.Caller = d.str()
	ev.SrcIP = d.str()
	ev.SrcDomain = d.str()
	ev.UserAgent = d.str()
	ev.ResourceGroup = d.str()
	ev.ResourceID = d.str()
	if n := d.Uvarint(); n > 0 {
		if n-1 > uint64(len(d.B)) {
			d.Fail()
		} else {
			ev.Resources = make([]event.Resource, n-1)
			for i := range ev.Resources {
				r := &ev.Resources[i]
				r.UID, r.Type, r.Role = d.str(), d.str(), d.str()
			}
		}
	}

	k := &ev.Keys
	for _, l := range [...]*[]string{&k.Instances, &k.SourceInstances, &k.Volumes, &k.SourceVolumes, &k.Snapshots, &k.SourceSnapshots, &k.Images, &k.Devices} {
		*l = d.strs()
	}
	k.RootDeviceName = d.str()
	for _, s := range [...]*string{&k.RestoreTask, &k.DBInstance, &k.SourceDBInstance, &k.DBCluster, &k.DBSnapshot, &k.RestoreTime, &k.RecoveryPoint, &k.Disk, &k.VM, &k.OSDisk, &k.SourceResource, &k.CreateOption} {
		*s = d.str()
	}

	ev.Request = d.part(ev.Raw)
	ev.Response = d.part(ev.Raw)
	ev.Notes = d.strs()
	s := &ev.Source
	s.Category = d.str()
	s.Host = d.str()
	s.Line = int(d.Varint())
	s.Index = int(d.Varint())
	s.Header = d.str()
	if d.Err != nil {
		return nil, d.Err
	}
	if len(d.B) != 0 {
		return nil, errCompact
	}
	return ev, nil
}

// compareCompact is Compare on two events in the compact form, with
// their times given: it reads only the fields Compare does.
func compareCompact(a, b []byte, tab *strnum.Table) int {
	da, db := newDecoder(a, tab, true), newDecoder(b, tab, true)
	da.skipTime()
	db.skipTime()
	if c := strings.Compare(da.str(), db.str()); c != 0 { // UID
		return c
	}
	if c := strings.Compare(da.str(), db.str()); c != 0 { // Provider
		return c
	}
	if c := strings.Compare(da.str(), db.str()); c != 0 { // Format
		return c
	}
	if c := bytes.Compare(da.bytes(), db.bytes()); c != 0 { // Raw
		return c
	}
	if c := strings.Compare(da.str(), db.str()); c != 0 { // Source.Name
		return c
	}
	if c := cmpInt(da.Varint(), db.Varint()); c != 0 { // Source.Offset
		return c
	}
	return cmpInt(da.Varint(), db.Varint()) // Source.Sub
}

func (d *decoder) skipTime() {
	d.Varint()
	d.Uvarint()
	if d.Byte() == zoneFixed {
		d.Varint()
		d.str()
	}
}

// AppendEvent appends ev in the compact binary form, whole and
// self-contained (its strings in full, no table), for a caller that
// spills events to runs of its own; DecodeEvent reads it back.
func AppendEvent(b []byte, ev *event.Event) []byte {
	b, _ = appendCompact(b, ev, nil)
	return b
}

// DecodeEvent reads an event AppendEvent wrote, all of b, into storage
// of its own; damaged bytes are an error.
func DecodeEvent(b []byte) (*event.Event, error) { return decodeCompact(b, nil, false) }

// Detach gives ev's strings and bytes storage of their own. An event the
// Sorter hands out shares its block of held events (1 MB) and its table's
// strings: a finding that keeps such an event as evidence would keep the
// whole block alive after the rules are done with it.
func Detach(ev *event.Event) {
	b, _ := appendCompact(nil, ev, nil)
	own, err := decodeCompact(b, nil, false)
	if err != nil {
		return // cannot happen: it decodes what was just encoded
	}
	*ev = *own
}
