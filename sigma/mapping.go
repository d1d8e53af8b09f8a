package sigma

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/revertwatch/revertwatch/event"
)

// Config is what a user adds to the rules: field names of their own
// mapped to record paths, and the values of placeholders (the expand
// modifier). It is read from a YAML file:
//
//	fieldmappings:
//	  SourceIp: [sourceIPAddress, callerIpAddress]
//	  User: userIdentity.arn
//	placeholders:
//	  Administrators: ['arn:aws:iam::*:role/admin*']
type Config struct {
	// FieldMappings maps a rule's field name to the record paths tried in
	// order; the first path present in a record is used.
	FieldMappings map[string][]string `yaml:"fieldmappings"`
	// Placeholders maps a placeholder name (without %) to its values.
	Placeholders map[string][]string `yaml:"placeholders"`
}

// LoadConfig reads a Config file. Problems are reported as FILE:LINE:COL.
func LoadConfig(name string) (*Config, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ParseConfig(name, data)
}

// ParseConfig parses a Config; name is used in messages.
func ParseConfig(name string, data []byte) (c *Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%s: unreadable YAML: %v", name, r)
		}
	}()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	c = &Config{FieldMappings: map[string][]string{}, Placeholders: map[string][]string{}}
	m := docMap(&root)
	if m == nil {
		return nil, fmt.Errorf("%s:%d:%d: a mapping file is a map with fieldmappings and placeholders", name, root.Line, root.Column)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		var dst map[string][]string
		switch k.Value {
		case "fieldmappings":
			dst = c.FieldMappings
		case "placeholders":
			dst = c.Placeholders
		default:
			return nil, fmt.Errorf("%s:%d:%d: unknown key %q (want fieldmappings or placeholders)", name, k.Line, k.Column, k.Value)
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d:%d: %s must be a map", name, v.Line, v.Column, k.Value)
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			fk, fv := v.Content[j], v.Content[j+1]
			vals, ok := scalarList(fv)
			if !ok || len(vals) == 0 {
				return nil, fmt.Errorf("%s:%d:%d: %s.%s must be a string or a list of strings", name, fv.Line, fv.Column, k.Value, fk.Value)
			}
			dst[strings.TrimSuffix(strings.TrimPrefix(fk.Value, "%"), "%")] = vals
		}
	}
	return c, nil
}

func scalarList(n *yaml.Node) ([]string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, true
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, false
			}
			out = append(out, c.Value)
		}
		return out, true
	}
	return nil, false
}

// restAliases are the REST shape's names (see shapeAliases).
var restAliases = []alias{
	{"operationName", "operationName.value"},
	{"resultType", "status.value"},
	{"resultSignature", "subStatus.value"},
	{"category", "category.value"},
	{"callerIpAddress", "httpRequest.clientIpAddress"},
	{"time", "eventTimestamp"},
	{"identity.claims", "claims"},
	{"identity.authorization", "authorization"},
	{"resourceProviderName", "resourceProviderName.value"},
	// Log Analytics column names in rules written for that shape.
	{"OperationNameValue", "operationName.value"},
	{"ActivityStatusValue", "status.value"},
	{"ActivitySubstatusValue", "subStatus.value"},
	{"CategoryValue", "category.value"},
	{"ResourceProviderValue", "resourceProviderName.value"},
	{"Properties_d", "properties"},
	{"Claims_d", "claims"},
	{"Authorization_d", "authorization"},
}

// alias maps a field (or a field prefix) of the diagnostic-export shape to
// where another Azure shape keeps it.
type alias struct{ from, to string }

// upnClaim and the other claims are where the storage and Event Hub shapes
// keep the caller, which the REST shape names caller.
const (
	upnClaim  = "identity.claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	nameClaim = "identity.claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	appClaim  = "identity.claims.appid"
	oidClaim  = "identity.claims.http://schemas.microsoft.com/identity/claims/objectidentifier"
)

// shapeAliases are the built-in names per Azure shape (telemetry.md §3.1):
// a rule written for the diagnostic export (SigmaHQ's Azure rules, and
// ours) reads the REST and Log Analytics shapes through them. Keys in
// another case already resolve without an alias.
var shapeAliases = map[event.Format][]alias{
	// The portal CSV's rows are kept as REST-shaped records (ingest/console.go).
	event.FormatAzurePortalCSV: restAliases,
	event.FormatAzureREST:      restAliases,
	// An Azure SDK's serialised EventData (ingest/azure.SDK): REST in snake_case.
	event.FormatAzureSDK: {
		{"operationName", "operation_name.value"},
		{"resultType", "status.value"},
		{"resultSignature", "sub_status.value"},
		{"category", "category.value"},
		{"callerIpAddress", "http_request.client_ip_address"},
		{"time", "event_timestamp"},
		{"identity.claims", "claims"},
		{"identity.authorization", "authorization"},
		{"resourceProviderName", "resource_provider_name.value"},
		{"resourceId", "resource_id"},
		{"correlationId", "correlation_id"},
		{"operationId", "operation_id"},
		{"resourceGroupName", "resource_group_name"},
		{"subscriptionId", "subscription_id"},
		{"tenantId", "tenant_id"},
		{"eventDataId", "event_data_id"},
		{"OperationNameValue", "operation_name.value"},
		{"ActivityStatusValue", "status.value"},
	},
	event.FormatAzureLogAnalytics: {
		{"operationName", "OperationNameValue"},
		{"resultType", "ActivityStatusValue"},
		{"resultSignature", "ActivitySubstatusValue"},
		{"category", "CategoryValue"},
		{"time", "TimeGenerated"},
		{"properties", "Properties_d"},
		{"identity.claims", "Claims_d"},
		{"identity.authorization", "Authorization_d"},
		{"resourceProviderName", "ResourceProviderValue"},
	},
	event.FormatAzureStorage:  storageAliases,
	event.FormatAzureEventHub: storageAliases,

	event.FormatGCPLogEntry: gcpAliases,
	event.FormatGCPArray:    gcpAliases,
	event.FormatGCPEntries:  gcpAliases,
	event.FormatGCPPubSub:   gcpAliases,
	event.FormatGCPBigQuery: {
		// The BigQuery sink's columns (cloud.google.com/logging/docs/export/bigquery).
		{"protoPayload.request", "protopayload_auditlog.requestJson"},
		{"protoPayload.response", "protopayload_auditlog.responseJson"},
		{"protoPayload.metadata", "protopayload_auditlog.metadataJson"},
		{"protoPayload", "protopayload_auditlog"},
		{"data.protoPayload", "protopayload_auditlog"},
		{"gcp.audit.method_name", "protopayload_auditlog.methodName"},
		{"gcp.audit.service_name", "protopayload_auditlog.serviceName"},
		{"gcp.audit.resource_name", "protopayload_auditlog.resourceName"},
		{"gcp.audit.authentication_info.principal_email", "protopayload_auditlog.authenticationInfo.principalEmail"},
		{"gcp.audit.request_metadata.caller_ip", "protopayload_auditlog.requestMetadata.callerIp"},
		{"gcp.audit.request", "protopayload_auditlog.requestJson"},
		{"gcp.audit.response", "protopayload_auditlog.responseJson"},
	},
}

// gcpAliases read the names other Sigma rules for Cloud Audit Logs use on
// a LogEntry: SigmaHQ's GCP rules name fields data.protoPayload.* (a
// LogEntry under a data member) or gcp.audit.* (the Elastic Common Schema
// names of the Filebeat gcp module).
var gcpAliases = []alias{
	{"data.protoPayload", "protoPayload"},
	{"gcp.audit.method_name", "protoPayload.methodName"},
	{"gcp.audit.service_name", "protoPayload.serviceName"},
	{"gcp.audit.resource_name", "protoPayload.resourceName"},
	{"gcp.audit.authentication_info.principal_email", "protoPayload.authenticationInfo.principalEmail"},
	{"gcp.audit.request_metadata.caller_ip", "protoPayload.requestMetadata.callerIp"},
	{"gcp.audit.request", "protoPayload.request"},
	{"gcp.audit.response", "protoPayload.response"},
	{"gcp.audit.status.code", "protoPayload.status.code"},
}

var storageAliases = []alias{
	{"OperationNameValue", "operationName"},
	{"ActivityStatusValue", "resultType"},
	{"CategoryValue", "category"},
	{"Properties_d", "properties"},
	{"Claims_d", "identity.claims"},
	{"Authorization_d", "identity.authorization"},
	{"caller", upnClaim},
	{"caller", nameClaim},
	{"caller", appClaim},
	{"caller", oidClaim},
}

// resolver turns a rule's field name into the paths to try on a record of
// a given format.
type resolver struct {
	user  map[string][]string
	cache map[resolveKey][]string
}

type resolveKey struct {
	format event.Format
	field  string
}

func newResolver(c *Config) *resolver {
	r := &resolver{cache: map[resolveKey][]string{}}
	if c != nil {
		r.user = c.FieldMappings
	}
	return r
}

// paths returns the paths for field, in the order they are tried: the
// user's mapping when it names the field, else the built-in aliases of
// the record's shape, then the field itself.
func (r *resolver) paths(format event.Format, field string) []string {
	k := resolveKey{format, field}
	if p, ok := r.cache[k]; ok {
		return p
	}
	var out []string
	if m, ok := r.user[field]; ok {
		for _, p := range m {
			out = append(out, normalizePath(p))
		}
	} else {
		// The shape's own name first: a Log Analytics row has both
		// OperationName (the localized text) and OperationNameValue (the
		// operation), and the first would answer for operationName when
		// keys are compared ignoring case.
		f := normalizePath(field)
		for _, a := range shapeAliases[format] {
			switch {
			case strings.EqualFold(f, a.from):
				out = append(out, a.to)
			case len(f) > len(a.from) && strings.EqualFold(f[:len(a.from)], a.from) && f[len(a.from)] == '.':
				out = append(out, a.to+f[len(a.from):])
			}
		}
		out = append(out, f)
	}
	r.cache[k] = out
	return out
}

// values resolves field on d: the values of the first path present.
func (r *resolver) values(d *doc, format event.Format, field string, out []leaf) ([]leaf, bool) {
	for _, p := range r.paths(format, field) {
		vals, ok := d.lookup(p, out[:0])
		if ok {
			return vals, true
		}
		out = vals
	}
	return out[:0], false
}

// MappedFields lists the names the Config maps, sorted.
func (c *Config) MappedFields() []string {
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.FieldMappings))
	for k := range c.FieldMappings {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
