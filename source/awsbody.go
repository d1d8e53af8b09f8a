package source

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// OwnBodies gives each request the AWS SDK sends a body of its own.
//
// The SDK hands every attempt of a call a reader over one shared payload
// and rewinds it before a retry. net/http, once it has written a body of
// known length, reads it once more to make sure nothing is left; when
// the server answered first (a throttled call), that read can come after
// the SDK rewound the payload for the next attempt, find bytes, and make
// the transport close the connection, which by then carries the next
// attempt's answer: "deserialization failed, … use of closed network
// connection" on a 200 (aws-sdk-go-v2 issues 1825 and 2737 report it).
// A private copy per attempt is at its end when that read comes. The
// bodies of the calls we make (LookupEvents, SQS) are small.
func OwnBodies(next aws.HTTPClient) aws.HTTPClient { return ownBodies{next} }

type ownBodies struct{ next aws.HTTPClient }

func (c ownBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return c.next.Do(r)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	own := r.Clone(r.Context())
	own.Body = io.NopCloser(bytes.NewReader(b))
	own.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return c.next.Do(own)
}
