package azure

import "strings"

// displayOps maps the display names the Azure portal shows (and writes in
// its Activity log CSV download) to the operations they stand for. The
// names are the operations' display.operation in the resource providers'
// operation lists (learn.microsoft.com/azure/role-based-access-control/
// resource-provider-operations), for the operations the rules and the
// field catalog use.
var displayOps = map[string]string{
	"create or update disk":            "Microsoft.Compute/disks/write",
	"delete disk":                      "Microsoft.Compute/disks/delete",
	"get disk sas uri":                 "Microsoft.Compute/disks/beginGetAccess/action",
	"revoke disk sas uri":              "Microsoft.Compute/disks/endGetAccess/action",
	"create or update snapshot":        "Microsoft.Compute/snapshots/write",
	"delete snapshot":                  "Microsoft.Compute/snapshots/delete",
	"get snapshot sas uri":             "Microsoft.Compute/snapshots/beginGetAccess/action",
	"revoke snapshot sas uri":          "Microsoft.Compute/snapshots/endGetAccess/action",
	"create or update virtual machine": "Microsoft.Compute/virtualMachines/write",
	"delete virtual machine":           "Microsoft.Compute/virtualMachines/delete",
	"deallocate virtual machine":       "Microsoft.Compute/virtualMachines/deallocate/action",
	"power off virtual machine":        "Microsoft.Compute/virtualMachines/powerOff/action",
	"start virtual machine":            "Microsoft.Compute/virtualMachines/start/action",
	"restart virtual machine":          "Microsoft.Compute/virtualMachines/restart/action",
	"reimage virtual machine":          "Microsoft.Compute/virtualMachines/reimage/action",
	"redeploy virtual machine":         "Microsoft.Compute/virtualMachines/redeploy/action",
}

// OperationFromDisplay returns the operation a portal row's Operation name
// stands for: the name itself when it is already an operation
// (Microsoft.Compute/disks/write), the operation of a known display name,
// or, from the row's resource type, the write of "Create or Update …" and
// the delete of "Delete …". Otherwise it returns the display name and
// false.
func OperationFromDisplay(display, resourceType string) (string, bool) {
	d := strings.TrimSpace(display)
	if strings.Count(d, "/") >= 2 && !strings.Contains(d, " ") {
		return d, true
	}
	low := strings.ToLower(strings.Join(strings.Fields(d), " "))
	if op, ok := displayOps[low]; ok {
		return op, true
	}
	rt := strings.TrimSuffix(strings.TrimSpace(resourceType), "/")
	if strings.Count(rt, "/") >= 1 && !strings.Contains(rt, " ") {
		switch {
		case strings.HasPrefix(low, "create or update "), strings.HasPrefix(low, "create "), strings.HasPrefix(low, "update "):
			return rt + "/write", true
		case strings.HasPrefix(low, "delete "):
			return rt + "/delete", true
		}
	}
	return d, false
}
