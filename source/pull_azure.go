package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// PullAzureOptions say what `pull azure` asks.
type PullAzureOptions struct {
	Since, Until  time.Time // Until zero: now
	Subscriptions []string
	// Endpoint is the Azure Resource Manager endpoint (default the public
	// cloud's; https://management.usgovcloudapi.net for US Government).
	// Plain http is refused except on a loopback address (an emulator).
	Endpoint string
	// Client tunes the ARM client (transport, retries); nil: azcore's.
	Client   *arm.ClientOptions
	Jobs     int // subscriptions asked at once; 0 means 4
	Pacing   Pacing
	Progress Progress     // may be nil
	Note     func(string) // may be nil
}

// ActivityLogRetention is how far back the Activity Log keeps events.
const ActivityLogRetention = 90 * 24 * time.Hour

// activityLogAPIVersion is the only version of the Activity Logs - List
// operation.
const activityLogAPIVersion = "2015-04-01"

// PullAzure asks the Activity Log list API (Activity Logs - List,
// GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values)
// of each subscription for the events between Since and Until, following
// nextLink page by page and retrying throttled (429) calls after a
// backoff, and writes the EventData objects as the service sent them, in
// the REST shape ingest's Azure decoder reads. The service's order is not
// guaranteed (hunt does not mind); an event listed twice (eventDataId) is
// written once.
func PullAzure(ctx context.Context, cred azcore.TokenCredential, o PullAzureOptions, w *RecordWriter) (PullResult, error) {
	subs := dedupe(o.Subscriptions)
	if len(subs) == 0 {
		return PullResult{}, errors.New("no subscription to ask")
	}
	copts, err := armOptions(o)
	if err != nil {
		return PullResult{}, err
	}
	client, err := arm.NewClient("revertwatch", "v1.0.0", cred, copts)
	if err != nil {
		return PullResult{}, fmt.Errorf("making the Azure Resource Manager client: %w", err)
	}
	until := o.Until
	if until.IsZero() {
		until = time.Now().UTC()
	}
	since := o.Since
	if since.IsZero() {
		since = until.Add(-ActivityLogRetention) // the filter requires both bounds
	}
	filter := "eventTimestamp ge '" + since.UTC().Format(time.RFC3339) + "' and eventTimestamp le '" + until.UTC().Format(time.RFC3339) + "'"
	var note func(string)
	o.Progress, note = serialized(o.Progress, o.Note)
	var ids seen
	res := PullResult{Scopes: subs}
	var errs []error
	res.Total, errs = eachScope(subs, o.Jobs, func(sub string) (PullStats, error) {
		return pullSubscription(ctx, client, o, sub, filter, &ids, w, note)
	})
	for i, err := range errs {
		if err != nil {
			errs[i] = &ScopeError{Scope: "subscription " + subs[i], Err: err}
			res.Failed = append(res.Failed, subs[i])
		}
	}
	return res, joinScopes("subscription", errs)
}

// armOptions points the client at the endpoint.
func armOptions(o PullAzureOptions) (*arm.ClientOptions, error) {
	var copts arm.ClientOptions
	if o.Client != nil {
		copts = *o.Client
	}
	copts.DisableRPRegistration = true // reading only: never register a provider
	if o.Endpoint == "" {
		return &copts, nil
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an endpoint URL (want https://HOST)", o.Endpoint)
	}
	if u.Scheme == "http" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("refusing to send Azure credentials over plain http to %s: use https", u.Host)
		}
		copts.InsecureAllowCredentialWithHTTP = true
	}
	c := cloud.AzurePublic
	if copts.Cloud.ActiveDirectoryAuthorityHost != "" {
		c = copts.Cloud
	}
	services := map[cloud.ServiceName]cloud.ServiceConfiguration{}
	for k, v := range c.Services {
		services[k] = v
	}
	rm := services[cloud.ResourceManager]
	rm.Endpoint = strings.TrimSuffix(o.Endpoint, "/")
	services[cloud.ResourceManager] = rm
	c.Services = services
	copts.Cloud = c
	return &copts, nil
}

func pullSubscription(ctx context.Context, client *arm.Client, o PullAzureOptions, sub, filter string, ids *seen, w *RecordWriter, note func(string)) (PullStats, error) {
	var st PullStats
	defer func() {
		if o.Progress != nil {
			o.Progress(sub, st, true)
		}
	}()
	base, err := url.Parse(client.Endpoint())
	if err != nil {
		return st, err
	}
	q := url.Values{"api-version": {activityLogAPIVersion}, "$filter": {filter}}
	next := runtime.JoinPaths(client.Endpoint(), "/subscriptions/"+url.PathEscape(sub)+"/providers/Microsoft.Insights/eventtypes/management/values") +
		"?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	pc := &pacer{every: o.Pacing.Interval}
	for page := 1; next != ""; page++ {
		var body []byte
		err := o.Pacing.call(ctx, pc, &st, azureThrottled, func() error {
			var err error
			body, err = armGet(ctx, client, next)
			return err
		})
		if err != nil {
			return st, activityLogError(err)
		}
		st.Calls++
		var doc struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return st, fmt.Errorf("page %d of the Activity Log list is not the documented {\"value\":[…],\"nextLink\":…}: %v", page, err)
		}
		recs := make([][]byte, 0, len(doc.Value))
		for i, raw := range doc.Value {
			rec, err := compactObject(raw)
			if err != nil {
				st.Rejected++
				note(fmt.Sprintf("pull azure: subscription %s: page %d, entry %d is not an EventData object (%v); skipped", sub, page, i+1, err))
				continue
			}
			var id struct {
				EventDataID string `json:"eventDataId"`
			}
			_ = json.Unmarshal(rec, &id) // an object: an id of another type is no id
			if !ids.first(id.EventDataID) {
				st.Duplicates++
				continue
			}
			recs = append(recs, rec)
		}
		if err := w.page(recs, &st, o.Progress, sub); err != nil {
			return st, err
		}
		next = doc.NextLink
		if next != "" {
			// The bearer token goes with the next call: only to the
			// endpoint it was meant for.
			u, err := url.Parse(next)
			if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
				return st, fmt.Errorf("page %d: nextLink %q is not on %s; stopped", page, next, base.Host)
			}
		}
	}
	return st, nil
}

// armGet sends one GET through the client's pipeline (authentication,
// azcore's retries, which honour Retry-After) and returns the body of a
// 200 answer.
func armGet(ctx context.Context, client *arm.Client, u string) ([]byte, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, runtime.NewResponseError(resp)
	}
	return runtime.Payload(resp)
}

func azureThrottled(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusTooManyRequests
}

// activityLogError says what a failed list call means for the user.
func activityLogError(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("activity log list: access denied (HTTP %d %s; the identity needs Microsoft.Insights/eventtypes/values/read, as in the Reader or Monitoring Reader role)", re.StatusCode, re.ErrorCode)
		case http.StatusNotFound:
			return fmt.Errorf("activity log list: HTTP 404 %s: no such subscription, or not visible to this identity", re.ErrorCode)
		}
		return fmt.Errorf("activity log list: HTTP %d %s", re.StatusCode, re.ErrorCode)
	}
	if strings.Contains(err.Error(), "acquire a token") || strings.Contains(err.Error(), "credential") {
		return fmt.Errorf("activity log list: no Azure credentials (run az login, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or use a managed identity): %w", err)
	}
	return fmt.Errorf("activity log list: %w", err)
}
