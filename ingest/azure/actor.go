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

func claim(claims *fastjson.Value, names ...string) string {
	for _, n := range names {
		if s := jsonx.Str(jsonx.Get(claims, n)); s != "" {
			return s
		}
	}
	return ""
}

func (d *Decoder) actor(v *fastjson.Value, f fields, shape Shape, ev *event.Event) {
	claims := jsonx.Embedded(&d.req, get(v, f.claims))
	a := &ev.Actor
	caller := jsonx.Str(get(v, f.caller))
	a.UID = claim(claims, claimOID, "oid")
	evidence := jsonx.Path(get(v, f.authz), "evidence")
	if a.UID == "" {
		a.UID = jsonx.Str(jsonx.Get(evidence, "principalId"))
	}
	a.Name = claim(claims, claimUPN, "upn", "unique_name", claimName, "name")
	if a.Name == "" {
		a.Name = caller
	}
	a.Type = claim(claims, claimIDType)
	if a.Type == "" {
		a.Type = jsonx.Str(jsonx.Get(evidence, "principalType"))
	}
	a.AppID = claim(claims, claimAppID, "azp")
	a.Role = claim(claims, claimManagedR)
	a.Account = ev.Tenant
	if a.Account == "" {
		a.Account = claim(claims, "http://schemas.microsoft.com/identity/claims/tenantid", "tid")
	}
	if name, ok := FirstPartyApps[strings.ToLower(a.AppID)]; ok {
		a.InvokedBy = name
	}
	a.ServiceInitiated = a.InvokedBy != "" || platformCallers[strings.ToLower(caller)]
	a.MFA = strings.Contains(strings.ToLower(claim(claims, "http://schemas.microsoft.com/claims/authnmethodsreferences", "amr")), "mfa")

	switch {
	case caller != "":
		ev.Caller = caller
	default:
		ev.Caller = claim(claims, claimUPN, "upn", claimName, "unique_name", claimAppID, claimOID)
	}
	if ev.Caller == "" && a.UID != "" {
		ev.Caller = a.UID
	}
}
