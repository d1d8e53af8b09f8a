package azure

// Fuzz targets for the Azure Activity Log decoder, in each shape. Run with
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=45s ./ingest/azure/
//
// Invariants: no panic on any JSON object in any shape; the operation is
// the operation name lower-cased; ARM ids in the join keys are lower-cased;
// every event has a UID; the event can be written as JSON.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

var fuzzRecords = []string{
	// Event Hub / Storage export: string operationName, properties as a
	// JSON string holding a responseBody string.
	`{"time":"2024-03-01T10:00:00.1234567Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/DISKS/D","operationName":"MICROSOFT.COMPUTE/DISKS/WRITE",` +
		`"category":"Administrative","resultType":"Success","resultSignature":"Succeeded.Created","level":4,"durationMs":"12","correlationId":"c",` +
		`"identity":{"claims":{"appid":"262044b1-e2ce-469f-a196-69ab7ada62d3","xms_mirid":"/x","idtyp":"app"},"authorization":{"evidence":{"principalId":"p","principalType":"ServicePrincipal"}}},` +
		`"properties":"{\"statusCode\":\"Created\",\"responseBody\":\"{\\\"properties\\\":{\\\"creationData\\\":{\\\"createOption\\\":\\\"Copy\\\",\\\"sourceResourceId\\\":\\\"/subscriptions/S/providers/Microsoft.Compute/snapshots/X\\\"}}}\"}"}`,
	// REST / portal: operationName and status as objects, VM OS-disk swap.
	`{"eventTimestamp":"2024-03-01T10:00:00Z","submissionTimestamp":"2024-03-01T10:01:00Z","operationName":{"value":"Microsoft.Compute/virtualMachines/write","localizedValue":"x"},` +
		`"status":{"value":"Accepted"},"subStatus":{"value":"OK"},"caller":"a@example.com","eventDataId":"d","operationId":"o",` +
		`"resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm","httpRequest":{"clientIpAddress":"192.0.2.1"},` +
		`"properties":{"responseBody":"{\"properties\":{\"storageProfile\":{\"osDisk\":{\"managedDisk\":{\"id\":\"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/NEW\"}}}}}"}}`,
	// Log Analytics AzureActivity row.
	`{"TimeGenerated":"2024-03-01T10:00:00Z","OperationNameValue":"MICROSOFT.COMPUTE/VIRTUALMACHINES/REIMAGE/ACTION","ActivityStatusValue":"Failure","Caller":"x",` +
		`"Properties_d":{"requestbody":"{}","statusCode":"Conflict"},"ResourceId":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v","Claims_d":"{\"appid\":\"a\"}"}`,
	// Types other than expected everywhere.
	`{"time":1,"operationName":["x"],"resultType":{},"properties":"[1,2]","identity":"claims","resourceId":null,"level":"Informational"}`,
	`{"operationName":"a/b/write","resourceId":"/subscriptions/","properties":{"responseBody":"{\"properties\":{\"creationData\":\"x\"}}"}}`,
}

// FuzzDecode decodes an arbitrary JSON object as each Azure shape.
func FuzzDecode(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add([]byte(r))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		// What the file decoder hands on: parsed, and JSON token by token.
		var p fastjson.Parser
		v, err := p.ParseBytes(data)
		if err != nil || !jsonx.ValidTokens(data) {
			return
		}
		Classify(v)
		if v.Type() != fastjson.TypeObject {
			return
		}
		for _, shape := range []Shape{Classify(v), REST, Export, LogAnalytics} {
			ev := &event.Event{Raw: data}
			d.Decode(v, shape, ev)
			if ev.Provider != event.Azure || ev.UID == "" {
				t.Fatalf("shape %d: provider %q uid %q", shape, ev.Provider, ev.UID)
			}
			if ev.Operation != strings.ToLower(ev.OperationName) {
				t.Fatalf("operation %q from %q", ev.Operation, ev.OperationName)
			}
			k := ev.Keys
			for _, id := range []string{k.Disk, k.VM, k.OSDisk, k.SourceResource} {
				if id != strings.ToLower(id) {
					t.Fatalf("ARM id %q in the join keys is not lower-cased", id)
				}
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("shape %d: event cannot be written as JSON: %v", shape, err)
			}
		}
	})
}

// FuzzReadClaims: the one walk over the claims finds each claim where
// jsonx.Get finds it, whatever the members' names, cases and order.
func FuzzReadClaims(f *testing.F) {
	f.Add(`{"appid":"a","AppId":"b","oid":"o","http://schemas.microsoft.com/identity/claims/objectidentifier":"O"}`)
	f.Add(`{"NAME":"x","name":"y","Name":"z"}`)
	f.Add(`{"\u212aid":"k","ti\u212a":"t","xm\u017f_mirid":"m","upn":1}`)
	f.Add(`[1]`)
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := fastjson.Parse(doc)
		if err != nil {
			return
		}
		set := readClaims(v)
		for i, n := range claimNames {
			if want := jsonx.Get(v, n); set[i] != want {
				t.Fatalf("claim %q of %s: got %v, want %v", n, doc, set[i], want)
			}
		}
	})
}
