package azure

import (
	"bytes"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// kindOf types an ARM resource id by its last provider/type segments.
func kindOf(id string) event.Kind {
	var buf [256]byte
	l := event.AppendLower(buf[:0], id)
	switch {
	case bytes.Contains(l, recoveryPoints):
		return event.KindRecoveryPoint
	case bytes.Contains(l, restorePoints), bytes.Contains(l, snapshots):
		return event.KindSnapshot
	case bytes.Contains(l, disks):
		return event.KindDisk
	case bytes.Contains(l, virtualMachines), bytes.Contains(l, scaleSets):
		return event.KindVM
	}
	return event.KindAzure
}

var (
	recoveryPoints  = []byte("/recoverypoints/")
	restorePoints   = []byte("/restorepoints/")
	snapshots       = []byte("/microsoft.compute/snapshots/")
	disks           = []byte("/microsoft.compute/disks/")
	virtualMachines = []byte("/microsoft.compute/virtualmachines/")
	scaleSets       = []byte("/virtualmachinescalesets/")
)

// bodyOps are the operations whose request or response body holds a join
// key; bodies of other operations are left unparsed.
func bodyOp(op string) bool {
	return strings.HasPrefix(op, "microsoft.compute/disks/write") ||
		strings.HasPrefix(op, "microsoft.compute/snapshots/write") ||
		strings.HasPrefix(op, "microsoft.compute/virtualmachines/write") ||
		strings.HasPrefix(op, "microsoft.compute/virtualmachinescalesets/") ||
		strings.Contains(op, "/restorepoints/") ||
		strings.Contains(op, "/recoverypoints/")
}

// keys records the resource the record is about and, for the operations
// that carry them, the ids inside the request and response bodies
// (telemetry.md §3.2): creationData of a disk or snapshot, the OS disk of a
// virtual machine. Absent bodies leave the keys unknown.
func (d *Decoder) keys(props *fastjson.Value, ev *event.Event) {
	id := ev.ResourceID
	if id != "" {
		role := event.RoleTarget
		if strings.HasSuffix(ev.Operation, "/write") {
			role = event.RoleCreated
		}
		// The resource of a restore-point or recovery-point action is the
		// point; the VM of a VM sub-resource action is the VM itself.
		k := kindOf(id)
		ev.AddResource(k, role, id)
		if k == event.KindVM {
			ev.Keys.VM = strings.ToLower(vmOf(id))
		}
	}
	if props == nil || !bodyOp(ev.Operation) {
		return
	}
	req := jsonx.Embedded(&d.req, jsonx.Get(props, "requestbody"))
	resp := jsonx.Embedded(&d.resp, jsonx.Get(props, "responseBody"))
	if req != nil {
		ev.Request = req.MarshalTo(nil)
	}
	if resp != nil {
		ev.Response = resp.MarshalTo(nil)
	}
	for _, body := range [...]*fastjson.Value{resp, req} {
		if body == nil {
			continue
		}
		p := jsonx.Get(body, "properties")
		if cd := jsonx.Get(p, "creationData"); cd != nil {
			if ev.Keys.CreateOption == "" {
				ev.Keys.CreateOption = jsonx.Str(jsonx.Get(cd, "createOption"))
			}
			if src := jsonx.Str(jsonx.Get(cd, "sourceResourceId")); src != "" && ev.Keys.SourceResource == "" {
				ev.Keys.SourceResource = strings.ToLower(src)
				ev.AddResource(kindOf(src), event.RoleSource, src)
			}
		}
		sp := jsonx.Get(p, "storageProfile")
		if os := jsonx.Path(sp, "osDisk", "managedDisk", "id"); os != nil {
			ev.AddResource(event.KindDisk, event.RoleAttachedTo, jsonx.Str(os))
		}
		for _, dd := range jsonx.Items(jsonx.Get(sp, "dataDisks")) {
			if did := jsonx.PathStr(dd, "managedDisk", "id"); did != "" {
				ev.Resources = appendResource(ev.Resources, event.Resource{UID: did, Type: string(event.KindDisk), Role: "data_disk"})
			}
		}
	}
}

func appendResource(list []event.Resource, r event.Resource) []event.Resource {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}

// vmOf trims an id under a virtual machine (an extension, a run command)
// to the virtual machine's own id.
func vmOf(id string) string {
	const vms = "/virtualmachines/"
	i := indexASCIIFold(id, vms)
	if i < 0 {
		return id
	}
	rest := id[i+len(vms):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return id[:i+len(vms)+j]
	}
	return id
}

// indexASCIIFold returns where pat (lower-case ASCII) first stands in s in
// any case, or -1. Only ASCII letters are folded, so that the index is
// one into s itself (strings.ToLower may change the length of what it
// lowers: an invalid byte, some letters). It finds what a search of the
// lowered s finds for a pat without a k, which the Kelvin sign lowers to:
// no other letter lowers to an ASCII one.
func indexASCIIFold(s, pat string) int {
	for i := 0; i+len(pat) <= len(s); i++ {
		j := 0
		for ; j < len(pat); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != pat[j] {
				break
			}
		}
		if j == len(pat) {
			return i
		}
	}
	return -1
}
