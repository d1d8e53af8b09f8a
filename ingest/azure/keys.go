package azure

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// kindOf types an ARM resource id by its last provider/type segments.
func kindOf(id string) event.Kind {
	l := strings.ToLower(id)
	switch {
	case strings.Contains(l, "/recoverypoints/"):
		return event.KindRecoveryPoint
	case strings.Contains(l, "/restorepoints/"), strings.Contains(l, "/microsoft.compute/snapshots/"):
		return event.KindSnapshot
	case strings.Contains(l, "/microsoft.compute/disks/"):
		return event.KindDisk
	case strings.Contains(l, "/microsoft.compute/virtualmachines/"), strings.Contains(l, "/virtualmachinescalesets/"):
		return event.KindVM
	}
	return event.KindAzure
}

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
		ev.AddResource(kindOf(id), role, id)
		if k := kindOf(id); k == event.KindVM {
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
	l := strings.ToLower(id)
	i := strings.Index(l, "/virtualmachines/")
	if i < 0 {
		return id
	}
	rest := id[i+len("/virtualmachines/"):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return id[:i+len("/virtualmachines/")+j]
	}
	return id
}
