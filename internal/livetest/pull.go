package livetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// The list APIs have no emulator: these servers answer as the providers
// document their responses (CloudTrail API Reference, LookupEvents;
// Azure Monitor REST, Activity Logs - List), from the records a test adds,
// with their pagination tokens, order, limits and throttling errors.

// LookupEvents answers CloudTrail's LookupEvents (AWS JSON 1.1,
// X-Amz-Target CloudTrail_20131101.LookupEvents) per region, the region
// read from the request's signature scope: the region's events between
// StartTime and EndTime (inclusive), newest first, MaxResults (1–50,
// default 50) a page, an opaque NextToken that is valid only with the
// same parameters.
type LookupEvents struct {
	URL string

	mu       sync.Mutex
	events   map[string][]ctEntry // by region
	calls    map[string]int
	throttle map[string]int    // region → calls still to throttle
	deny     map[string]string // region → error code answered
}

type ctEntry struct {
	id, name, source, user, key string
	readOnly                    string
	at                          time.Time
	raw                         string // CloudTrailEvent; "" = absent
}

// NewLookupEvents starts the server for the test.
func NewLookupEvents(t testing.TB) *LookupEvents {
	t.Helper()
	l := &LookupEvents{events: map[string][]ctEntry{}, calls: map[string]int{}, throttle: map[string]int{}, deny: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

// Add files CloudTrail records (each one JSON object) under their
// awsRegion; it returns how many it added.
func (l *LookupEvents) Add(t testing.TB, records ...[]byte) int {
	t.Helper()
	for _, raw := range records {
		var r struct {
			ID           string    `json:"eventID"`
			Name         string    `json:"eventName"`
			Source       string    `json:"eventSource"`
			Region       string    `json:"awsRegion"`
			Time         time.Time `json:"eventTime"`
			ReadOnly     *bool     `json:"readOnly"`
			UserIdentity struct {
				AccessKeyID string `json:"accessKeyId"`
				UserName    string `json:"userName"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("LookupEvents.Add: %v", err)
		}
		ro := "false"
		if r.ReadOnly != nil && *r.ReadOnly {
			ro = "true"
		}
		l.addEntry(r.Region, ctEntry{id: r.ID, name: r.Name, source: r.Source, user: r.UserIdentity.UserName,
			key: r.UserIdentity.AccessKeyID, readOnly: ro, at: r.Time, raw: string(raw)})
	}
	return len(records)
}

// AddBroken files an entry whose CloudTrailEvent is missing (raw "") or
// is raw.
func (l *LookupEvents) AddBroken(region, id string, at time.Time, raw string) {
	l.addEntry(region, ctEntry{id: id, name: "RunInstances", source: "ec2.amazonaws.com", readOnly: "false", at: at, raw: raw})
}

func (l *LookupEvents) addEntry(region string, e ctEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events[region] = append(l.events[region], e)
}

// Throttle makes the next n calls in region answer ThrottlingException.
func (l *LookupEvents) Throttle(region string, n int) {
	l.mu.Lock()
	l.throttle[region] = n
	l.mu.Unlock()
}

// Deny makes every call in region answer the error code
// (UnrecognizedClientException for a region not enabled,
// AccessDeniedException).
func (l *LookupEvents) Deny(region, code string) {
	l.mu.Lock()
	l.deny[region] = code
	l.mu.Unlock()
}

// Calls returns the calls answered so far, by region.
func (l *LookupEvents) Calls() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.calls {
		out[k] = v
	}
	return out
}

var scopeRegion = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/cloudtrail/aws4_request`)

func ctError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

type ctToken struct {
	Region string  `json:"r"`
	Start  float64 `json:"s"`
	End    float64 `json:"e"`
	Offset int     `json:"o"`
}

func (l *LookupEvents) serve(w http.ResponseWriter, r *http.Request) {
	// The API reference spells the target with its namespace; the SDK
	// sends it without.
	target := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "com.amazonaws.cloudtrail.v20131101.")
	if r.Method != http.MethodPost || target != "CloudTrail_20131101.LookupEvents" {
		ctError(w, 400, "UnknownOperationException", "only LookupEvents is served here")
		return
	}
	m := scopeRegion.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		ctError(w, 400, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
		return
	}
	region := m[1]
	var in struct {
		StartTime, EndTime *float64
		MaxResults         *int
		NextToken          *string
		LookupAttributes   []json.RawMessage
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		ctError(w, 400, "SerializationException", err.Error())
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[region]++
	if code := l.deny[region]; code != "" {
		msg := "User is not authorized to perform: cloudtrail:LookupEvents"
		if code == "UnrecognizedClientException" {
			msg = "The security token included in the request is invalid."
		}
		ctError(w, 400, code, msg)
		return
	}
	if l.throttle[region] > 0 {
		l.throttle[region]--
		ctError(w, 400, "ThrottlingException", "Rate exceeded")
		return
	}
	size := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			ctError(w, 400, "InvalidMaxResultsException", "MaxResults must be 1 to 50")
			return
		}
		size = *in.MaxResults
	}
	start, end := math.Inf(-1), math.Inf(1)
	if in.StartTime != nil {
		start = *in.StartTime
	}
	if in.EndTime != nil {
		end = *in.EndTime
	}
	if start > end {
		ctError(w, 400, "InvalidTimeRangeException", "StartTime is after EndTime")
		return
	}
	off := 0
	if in.NextToken != nil {
		b, err := base64.StdEncoding.DecodeString(*in.NextToken)
		var tok ctToken
		if err != nil || json.Unmarshal(b, &tok) != nil || tok.Region != region || tok.Start != start || tok.End != end {
			ctError(w, 400, "InvalidNextTokenException", "The pagination token is not valid for these parameters")
			return
		}
		off = tok.Offset
	}
	var sel []ctEntry
	for _, e := range l.events[region] {
		sec := float64(e.at.UnixNano()) / 1e9
		if sec >= start && sec <= end {
			sel = append(sel, e)
		}
	}
	// "The most recent event is listed first."
	sort.SliceStable(sel, func(i, j int) bool {
		if !sel[i].at.Equal(sel[j].at) {
			return sel[i].at.After(sel[j].at)
		}
		return sel[i].id < sel[j].id
	})
	type resource struct{ ResourceType, ResourceName string }
	type outEvent struct {
		EventId, EventName, ReadOnly string
		AccessKeyId                  string  `json:",omitempty"`
		EventTime                    float64 // epoch seconds, as AWS JSON 1.1 sends timestamps
		EventSource, Username        string
		Resources                    []resource
		CloudTrailEvent              string `json:",omitempty"`
	}
	out := struct {
		Events    []outEvent
		NextToken string `json:",omitempty"`
	}{Events: []outEvent{}}
	for i := off; i < len(sel) && i < off+size; i++ {
		e := sel[i]
		out.Events = append(out.Events, outEvent{EventId: e.id, EventName: e.name, ReadOnly: e.readOnly, AccessKeyId: e.key,
			EventTime: float64(e.at.Unix()), EventSource: e.source, Username: e.user, Resources: []resource{}, CloudTrailEvent: e.raw})
	}
	if off+size < len(sel) {
		b, _ := json.Marshal(ctToken{Region: region, Start: start, End: end, Offset: off + size})
		out.NextToken = base64.StdEncoding.EncodeToString(b)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// ActivityLog answers Azure Monitor's Activity Logs - List
// (GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values,
// api-version 2015-04-01) from the EventData records a test adds: a bearer
// token required, the documented $filter syntax only (eventTimestamp ge
// and le, at most one more condition), newest first, PageSize a page, an
// absolute nextLink with an opaque $skipToken.
type ActivityLog struct {
	URL      string
	PageSize int // default 200
	// RepeatAcrossPages makes each page after the first start with the
	// last record of the page before, as clients have seen the service do.
	RepeatAcrossPages bool

	mu       sync.Mutex
	srv      *httptest.Server
	events   []azEntry
	calls    map[string]int // by subscription
	throttle int
	deny     int // status answered to every call (401, 403)
}

type azEntry struct {
	sub, id string
	at      time.Time
	raw     json.RawMessage
}

// NewActivityLog starts the server, on TLS (as ARM is) when tls is set:
// then Client trusts it.
func NewActivityLog(t testing.TB, tls bool) *ActivityLog {
	t.Helper()
	a := &ActivityLog{calls: map[string]int{}}
	if tls {
		a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	} else {
		a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	}
	t.Cleanup(a.srv.Close)
	a.URL = a.srv.URL
	return a
}

// Client is an HTTP client that trusts the server.
func (a *ActivityLog) Client() *http.Client { return a.srv.Client() }

// Add files EventData records (REST shape) under their subscriptionId.
func (a *ActivityLog) Add(t testing.TB, records ...[]byte) int {
	t.Helper()
	for _, raw := range records {
		var r struct {
			Sub  string    `json:"subscriptionId"`
			ID   string    `json:"eventDataId"`
			Time time.Time `json:"eventTimestamp"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("ActivityLog.Add: %v", err)
		}
		a.mu.Lock()
		a.events = append(a.events, azEntry{sub: strings.ToLower(r.Sub), id: r.ID, at: r.Time, raw: raw})
		a.mu.Unlock()
	}
	return len(records)
}

// Throttle makes the next n calls answer 429 with a Retry-After.
func (a *ActivityLog) Throttle(n int) {
	a.mu.Lock()
	a.throttle = n
	a.mu.Unlock()
}

// Deny makes every call answer status (0: answer normally).
func (a *ActivityLog) Deny(status int) {
	a.mu.Lock()
	a.deny = status
	a.mu.Unlock()
}

// Calls returns the calls answered so far, by subscription.
func (a *ActivityLog) Calls() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.calls {
		out[k] = v
	}
	return out
}

var (
	activityPath   = regexp.MustCompile(`^/subscriptions/([^/]+)/providers/Microsoft\.Insights/eventtypes/management/values$`)
	activityFilter = regexp.MustCompile(`^eventTimestamp ge '([^']+)' and eventTimestamp le '([^']+)'(?: and (?:resourceGroupName|resourceUri|resourceProvider|correlationId) eq '[^']*')?$`)
)

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-failure-cause", "gateway")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

type azToken struct {
	Filter string `json:"f"`
	Offset int    `json:"o"`
}

func (a *ActivityLog) serve(w http.ResponseWriter, r *http.Request) {
	m := activityPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodGet || m == nil {
		armError(w, 404, "InvalidResourceType", "only the Activity Log list is served here")
		return
	}
	sub := strings.ToLower(m[1])
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		armError(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2015-04-01" {
		armError(w, 400, "InvalidApiVersionParameter", "The api-version '"+q.Get("api-version")+"' is invalid.")
		return
	}
	filter := q.Get("$filter")
	fm := activityFilter.FindStringSubmatch(filter)
	if fm == nil {
		armError(w, 400, "BadRequest", "The $filter is not valid: "+filter)
		return
	}
	from, err1 := time.Parse(time.RFC3339Nano, fm[1])
	to, err2 := time.Parse(time.RFC3339Nano, fm[2])
	if err1 != nil || err2 != nil {
		armError(w, 400, "BadRequest", "The $filter times are not valid: "+filter)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[sub]++
	if a.deny != 0 {
		armError(w, a.deny, "AuthorizationFailed", "The client does not have authorization to perform action 'microsoft.insights/eventtypes/values/read'.")
		return
	}
	if a.throttle > 0 {
		a.throttle--
		w.Header().Set("Retry-After", "0")
		armError(w, 429, "TooManyRequests", "The request is being throttled.")
		return
	}
	off := 0
	if tok := q.Get("$skipToken"); tok != "" {
		b, err := base64.URLEncoding.DecodeString(tok)
		var t azToken
		if err != nil || json.Unmarshal(b, &t) != nil || t.Filter != filter {
			armError(w, 400, "InvalidSkipToken", "The skip token is not valid.")
			return
		}
		off = t.Offset
	}
	var sel []azEntry
	for _, e := range a.events {
		if e.sub == sub && !e.at.Before(from) && !e.at.After(to) {
			sel = append(sel, e)
		}
	}
	sort.SliceStable(sel, func(i, j int) bool {
		if !sel[i].at.Equal(sel[j].at) {
			return sel[i].at.After(sel[j].at)
		}
		return sel[i].id < sel[j].id
	})
	size := a.PageSize
	if size <= 0 {
		size = 200
	}
	out := struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"nextLink,omitempty"`
	}{Value: []json.RawMessage{}}
	if off > 0 && a.RepeatAcrossPages {
		out.Value = append(out.Value, sel[off-1].raw)
	}
	for i := off; i < len(sel) && i < off+size; i++ {
		out.Value = append(out.Value, sel[i].raw)
	}
	if off+size < len(sel) {
		b, _ := json.Marshal(azToken{Filter: filter, Offset: off + size})
		nq := r.URL.Query()
		nq.Set("$skipToken", base64.URLEncoding.EncodeToString(b))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		out.NextLink = fmt.Sprintf("%s://%s%s?%s", scheme, r.Host, r.URL.Path, strings.ReplaceAll(nq.Encode(), "+", "%20"))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(out)
}

// AzureToken is a credential that always has a token: the servers here
// check that one is sent, not what it says.
type AzureToken struct{}

// GetToken returns a token valid for an hour.
func (AzureToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
