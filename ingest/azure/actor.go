package azure

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// Claim names as they appear in Activity Log identity claims.
const (
	claimUPN      = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimName     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	claimOID      = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimIDType   = "idtyp"
	claimAppID    = "appid"
	claimManagedR = "xms_mirid"
)

// FirstPartyApps maps the application ids of Microsoft first-party services
// that act on customer resources to their names (telemetry.md §7.2). A call
// made with one of these ids is service-initiated. The portal and CLI ids
// are people and are not listed.
var FirstPartyApps = map[string]string{
	"262044b1-e2ce-469f-a196-69ab7ada62d3": "Backup Management Service",
	"b8340c3b-9267-498f-b21a-15d5547fd85e": "Hyper-V Recovery Manager",
	"fc75330b-179d-49af-87dd-3b1acf6827fa": "AzureAutomation",
}

// platformCallers are caller strings Azure itself uses for platform actions.
var platformCallers = map[string]bool{"microsoft.insights/autoscalesettings": true}

// Other claims actor reads.
const (
	claimTenant = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimAMR    = "http://schemas.microsoft.com/claims/authnmethodsreferences"
)

// claimNames are the claims actor reads, by their place in a claimSet.
var claimNames = [...]string{claimOID, "oid", claimUPN, "upn", "unique_name", claimName, "name", claimIDType,
	claimAppID, "azp", claimManagedR, claimTenant, "tid", claimAMR, "amr"}

// The places of claimNames.
const (
	cOID = iota
	cOid
	cUPN
	cUpn
	cUniqueName
	cName
	cNameShort
	cIDType
	cAppID
	cAzp
	cManagedR
	cTenant
	cTid
	cAMR
	cAmr
)

// claimSet holds the claims of one record actor reads, each as
// jsonx.Get(claims, name) finds it (the first member of the exact name,
// else the first whose name matches ignoring case), all found in one walk
// over the claims instead of one or two per name.
type claimSet [len(claimNames)]*fastjson.Value

func readClaims(claims *fastjson.Value) (set claimSet) {
	claimSetNames.GetAll(claims, set[:])
	return set
}

var claimSetNames = jsonx.NewNameSet(claimNames[:]...)

// first returns the first of the claims at places that is a non-empty
// string, as jsonx.Str reads it.
func (set *claimSet) first(places ...int) string {
	for _, i := range places {
		if s := jsonx.Str(set[i]); s != "" {
			return s
		}
	}
	return ""
}

// actor fills the actor of a record whose top-level members Decode found
// (top).
func (d *Decoder) actor(top *[nTop]*fastjson.Value, names *topNames, ev *event.Event) {
	claims := readClaims(jsonx.Embedded(&d.req, value(jsonx.Path(top[tClaims], names.claims...))))
	a := &ev.Actor
	caller := jsonx.Str(value(top[tCaller]))
	a.UID = claims.first(cOID, cOid)
	evidence := jsonx.Path(value(jsonx.Path(top[tAuthz], names.authz...)), "evidence")
	if a.UID == "" {
		a.UID = jsonx.Str(jsonx.Get(evidence, "principalId"))
	}
	a.Name = claims.first(cUPN, cUpn, cUniqueName, cName, cNameShort)
	if a.Name == "" {
		a.Name = caller
	}
	a.Type = claims.first(cIDType)
	if a.Type == "" {
		a.Type = jsonx.Str(jsonx.Get(evidence, "principalType"))
	}
	a.AppID = claims.first(cAppID, cAzp)
	a.Role = claims.first(cManagedR)
	a.Account = ev.Tenant
	if a.Account == "" {
		a.Account = claims.first(cTenant, cTid)
	}
	if name, ok := FirstPartyApps[strings.ToLower(a.AppID)]; ok {
		a.InvokedBy = name
	}
	a.ServiceInitiated = a.InvokedBy != "" || platformCallers[strings.ToLower(caller)]
	a.MFA = strings.Contains(strings.ToLower(claims.first(cAMR, cAmr)), "mfa")

	switch {
	case caller != "":
		ev.Caller = caller
	default:
		ev.Caller = claims.first(cUPN, cUpn, cName, cUniqueName, cAppID, cOID)
	}
	if ev.Caller == "" && a.UID != "" {
		ev.Caller = a.UID
	}
}
