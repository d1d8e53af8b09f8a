package eventtime

import (
	"strings"

	"github.com/revertwatch/revertwatch/event"
)

// Scope names what resource keys are unique within: provider, account
// and region for AWS; provider and subscription for Azure, whose ARM ids
// are global and whose records carry no reliable region. Rules never join
// events of different scopes.
type Scope struct {
	Provider, Account, Region string
}

// ScopeOf returns an event's scope, canonical: Azure subscriptions
// lower-cased (exports write them in upper case), no Azure region.
func ScopeOf(ev *event.Event) Scope {
	return Canonical(Scope{Provider: ev.Provider, Account: ev.Account, Region: ev.Region})
}

// Canonical lower-cases an Azure subscription and drops the Azure
// region; a Google Cloud scope is its project, whose resource paths name
// their zone or region themselves (a zonal disk's global snapshot is in
// no zone).
func Canonical(s Scope) Scope {
	switch s.Provider {
	case event.Azure:
		s.Account, s.Region = strings.ToLower(s.Account), ""
	case event.GCP:
		s.Region = ""
	}
	return s
}

// Name is the scope as one string, usable as a map key and as a prefix of
// keys built under it.
func (s Scope) Name() string { return s.Provider + "\x00" + s.Account + "\x00" + s.Region }

// AppendName appends the canonical name of ev's scope to b without
// allocating: the hot path of engines that look a scope up per event.
func AppendName(b []byte, ev *event.Event) []byte {
	b = append(b, ev.Provider...)
	b = append(b, 0)
	region := ev.Region
	if ev.Provider == event.GCP {
		region = ""
	}
	if ev.Provider == event.Azure {
		region = ""
		for i := 0; i < len(ev.Account); i++ {
			c := ev.Account[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	} else {
		b = append(b, ev.Account...)
	}
	b = append(b, 0)
	return append(b, region...)
}
