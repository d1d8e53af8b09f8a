package tune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
	"go.yaml.in/yaml/v3"
)

// class sorts match attributes by who controls their value, which decides
// whether an entry is strong enough (see Match.checkStrength).
type class uint8

const (
	// classIdentity: who made the call and from where, as the cloud
	// recorded it.
	classIdentity class = iota
	// classScope: where the call acted.
	classScope
	// classBenign: built-in benign actors; they anchor an entry unless
	// one of them is recognised by marks the caller sets.
	classBenign
	// classCallerSet: values the caller chooses freely (and the time).
	// They narrow an entry but never carry it alone.
	classCallerSet
)

// attr indexes the match attributes of the config schema. Their order here
// is the schema's order: in Attributes, Keys, String, the known keys of a
// match mapping and the messages that list them.
type attr int

// The match attributes, in schema order.
const (
	attrPrincipal attr = iota
	attrRole
	attrInvokedBy
	attrAppID
	attrAccount
	attrRegion
	attrResourceGroup
	attrResourceID
	attrSourceIP
	attrBenign
	attrOperation
	attrUserAgent
	attrRequestValue
	attrTime
	numAttrs
)

// Attribute describes one match attribute of the config schema.
type Attribute struct {
	Key       string // the YAML key
	CallerSet bool   // the caller chooses the value freely
	Doc       string // what it matches
}

type attrSpec struct {
	key   string
	doc   string
	class class
	glob  bool // a list of globs, kept in Match.globs
}

// schema is the one table of match attributes.
var schema = [numAttrs]attrSpec{
	attrPrincipal:     {"principal", "glob over the caller: AWS ARN, Azure UPN, object id or app id (any of them may match)", classIdentity, true},
	attrRole:          {"role", "glob over the AWS session issuer role ARN, or the Azure managed identity resource (xms_mirid)", classIdentity, true},
	attrInvokedBy:     {"invoked_by", "glob over the AWS service that made the call for the principal (userIdentity.invokedBy), or the Azure first-party app name", classIdentity, true},
	attrAppID:         {"app_id", "glob over the Azure application id (appid claim)", classIdentity, true},
	attrAccount:       {"account", "glob over the AWS account id or Azure subscription id the call acted in", classScope, true},
	attrRegion:        {"region", "glob over the AWS region or Azure location", classScope, true},
	attrResourceGroup: {"resource_group", "glob over the Azure resource group", classScope, true},
	attrResourceID:    {"resource_id", "glob over resource ids; every resource the finding names must match one of them", classScope, true},
	attrSourceIP:      {"source_ip", "IP address or CIDR the call came from (any of a list)", classIdentity, false},
	attrBenign:        {"benign", "ids of built-in benign actors (revertwatch rules benign) that made every call; a caller-set actor such as packer counts as caller-set", classBenign, false},
	attrOperation:     {"operation", "glob over the operation (eventName, Azure operationName); every event must match", classCallerSet, true},
	attrUserAgent:     {"user_agent", "glob over the user agent (set by the caller: never enough alone)", classCallerSet, true},
	attrRequestValue:  {"request_value", "glob over any string value in the request parameters (set by the caller)", classCallerSet, true},
	attrTime:          {"time", "a time window: timezone, days and hours; every event must fall inside", classCallerSet, false},
}

// Attributes lists every match attribute of the schema, in order.
func Attributes() []Attribute {
	out := make([]Attribute, numAttrs)
	for i, a := range schema {
		out[i] = Attribute{Key: a.key, CallerSet: a.class == classCallerSet, Doc: a.doc}
	}
	return out
}

// matchKeys are the keys a match mapping may hold, in schema order.
var matchKeys = func() []string {
	out := make([]string, numAttrs)
	for i, a := range schema {
		out[i] = a.key
	}
	return out
}()

// anchorKeys lists, for messages, the attributes that anchor an entry by
// themselves: "principal, role, ... or source_ip".
var anchorKeys = func() string {
	var keys []string
	for _, a := range schema {
		if a.class == classIdentity || a.class == classScope {
			keys = append(keys, a.key)
		}
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " or " + keys[len(keys)-1]
}()

// Match is the attribute test of an allow entry or a built-in benign actor.
// Every attribute it names must match every event of a finding; the values
// listed under one attribute are alternatives.
type Match struct {
	globs    [numAttrs]globs // of the attributes that are globs
	sourceIP []netip.Prefix
	benign   []string
	time     *TimeWindow

	benignCallerSet bool // one of benign is a caller-set actor
}

// has reports whether the match names attribute a.
func (m *Match) has(a attr) bool {
	switch a {
	case attrSourceIP:
		return len(m.sourceIP) > 0
	case attrBenign:
		return len(m.benign) > 0
	case attrTime:
		return m.time != nil
	}
	return len(m.globs[a]) > 0
}

// values returns the values the match lists for attribute a, as written.
func (m *Match) values(a attr) []string {
	switch a {
	case attrSourceIP:
		ips := make([]string, len(m.sourceIP))
		for j, p := range m.sourceIP {
			ips[j] = p.String()
		}
		return ips
	case attrBenign:
		return m.benign
	case attrTime:
		if m.time == nil {
			return nil
		}
		return []string{m.time.String()}
	}
	return m.globs[a].strings()
}

// Keys lists the attributes the match names, in schema order.
func (m *Match) Keys() []string {
	var out []string
	for a := range numAttrs {
		if m.has(a) {
			out = append(out, schema[a].key)
		}
	}
	return out
}

// String describes the match on one line, attributes in schema order.
func (m *Match) String() string {
	var parts []string
	for a := range numAttrs {
		if m.has(a) {
			parts = append(parts, schema[a].key+"="+strings.Join(m.values(a), "|"))
		}
	}
	return strings.Join(parts, " ")
}

// checkStrength enforces the rules that keep an entry from being a bypass:
// at least one attribute the caller cannot set freely, and two attributes
// unless the entry opts out with single_attribute.
func (m *Match) checkStrength(single bool) error {
	n, anchored := 0, 0
	for a := range numAttrs {
		if !m.has(a) {
			continue
		}
		n++
		switch schema[a].class {
		case classIdentity, classScope:
			anchored++
		case classBenign:
			if !m.benignCallerSet {
				anchored++
			}
		}
	}
	switch {
	case n == 0:
		return errors.New("match names no attribute")
	case anchored == 0 && m.has(attrUserAgent) && n == 1:
		return errors.New("an entry on the user agent alone is refused, even with single_attribute: the caller sets the user agent, so anyone could switch the detection off; add principal, role, account or source_ip")
	case anchored == 0:
		return fmt.Errorf("an entry made only of attributes the caller sets (%s) is refused, even with single_attribute; add %s", strings.Join(m.Keys(), ", "), anchorKeys)
	case n < 2 && !single:
		return fmt.Errorf("an entry must combine at least two attributes so that one value cannot switch the detection off (it names only %s); add another, or say single_attribute: true", strings.Join(m.Keys(), ", "))
	}
	return nil
}

// decodeMatch reads a match mapping. known is the benign actor set that a
// benign attribute may name; nil while reading that set itself, which may
// not refer to benign actors.
func decodeMatch(d *decoder, n *yaml.Node, known *BenignSet) *Match {
	m := &Match{}
	before := d.diags.Errors()
	fields := d.mapping(n, "match", matchKeys)
	for _, f := range fields {
		switch f.key {
		case "source_ip":
			vals, nodes := d.scalars(f.v, "source_ip")
			for i, v := range vals {
				p, err := parsePrefix(v)
				if err != nil {
					d.errorf(nodes[i], "bad source_ip %q: %v", v, err)
					continue
				}
				m.sourceIP = append(m.sourceIP, p)
			}
		case "benign":
			vals, nodes := d.scalars(f.v, "benign")
			if known == nil {
				d.errorf(f.k, "a built-in benign actor cannot refer to others")
				continue
			}
			for i, v := range vals {
				a := known.Actor(v)
				if a == nil {
					d.errorf(nodes[i], "unknown benign actor %q (known: %s)", v, strings.Join(known.IDs(), ", "))
					continue
				}
				m.benign = append(m.benign, a.ID)
				m.benignCallerSet = m.benignCallerSet || a.CallerSet
			}
		case "time":
			m.time = decodeTimeWindow(d, f.v)
		default:
			idx := globIndex(f.key)
			vals, nodes := d.scalars(f.v, f.key)
			for i, v := range vals {
				g, err := CompileGlob(v)
				if err != nil {
					d.errorf(nodes[i], "bad glob %q for %s: %v", v, f.key, err)
					continue
				}
				m.globs[idx] = append(m.globs[idx], g)
			}
		}
	}
	if d.diags.Errors() > before {
		return nil // the strength check would only repeat the problem
	}
	if len(fields) == 0 {
		d.errorf(d.resolve(n), "match names no attribute")
		return nil
	}
	return m
}

// globIndex returns the glob attribute named key, or -1.
func globIndex(key string) attr {
	for i, a := range schema {
		if a.glob && a.key == key {
			return attr(i)
		}
	}
	return -1
}

// parsePrefix reads an IP address or a CIDR. A CIDR with host bits set is
// refused because it is ambiguous (did 10.1.2.3/8 mean 10.0.0.0/8?), and
// so is a prefix of length 0, which matches every address.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address or CIDR (e.g. 203.0.113.7 or 10.20.0.0/16)")
		}
		if p.Bits() == 0 {
			return netip.Prefix{}, errMatchAll
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, errors.New("an IPv4-mapped IPv6 prefix; write the IPv4 form")
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("host bits are set; did you mean %s?", p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR (e.g. 203.0.113.7 or 10.20.0.0/16)")
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var timeKeys = []string{"timezone", "days", "hours"}

func decodeTimeWindow(d *decoder, n *yaml.Node) *TimeWindow {
	w := &TimeWindow{Zone: time.UTC}
	before := d.diags.Errors()
	fields := d.mapping(n, "time", timeKeys)
	daysSet := false
	for _, f := range fields {
		switch f.key {
		case "timezone":
			if s, ok := d.scalar(f.v, "timezone"); ok {
				loc, err := loadZone(s)
				if err != nil {
					d.errorf(d.resolve(f.v), "timezone: %v", err)
					continue
				}
				w.Zone = loc
			}
		case "days":
			vals, nodes := d.scalars(f.v, "days")
			for i, v := range vals {
				for _, part := range strings.Split(v, ",") {
					if err := parseDays(part, &w.Days); err != nil {
						d.errorf(nodes[i], "days: %v", err)
					}
				}
			}
			daysSet = true
		case "hours":
			vals, nodes := d.scalars(f.v, "hours")
			for i, v := range vals {
				r, err := parseHours(v)
				if err != nil {
					d.errorf(nodes[i], "hours: %v", err)
					continue
				}
				w.Ranges = append(w.Ranges, r)
			}
		}
	}
	if !daysSet {
		w.Days = [7]bool{true, true, true, true, true, true, true}
	}
	if !daysSet && len(w.Ranges) == 0 && d.diags.Errors() == before {
		d.errorf(d.resolve(n), "time needs days, hours or both (timezone alone matches every moment)")
		return nil
	}
	return w
}

// subject is what one event tells about a call, in the shape matching
// needs. A finding without its events gives one subject per evidence item.
type subject struct {
	provider      string
	identities    []string // principal candidates: any may match
	role          string
	invokedBy     string
	appID         string
	account       string
	region        string
	resourceGroup string
	resources     []string // every one must match resource_id
	operations    []string // every one must match operation
	userAgents    []string // every one must match user_agent
	srcIPs        []string // every one must match source_ip
	request       json.RawMessage
	time          time.Time
	benign        []string // built-in actor ids recognised (filled by Apply)
}

func subjectOf(ev *event.Event) subject {
	var s subject
	s.fill(ev)
	return s
}

// fill makes s the subject of ev, reusing its lists' arrays.
func (s *subject) fill(ev *event.Event) {
	*s = subject{
		provider:      ev.Provider,
		role:          ev.Actor.Role,
		invokedBy:     ev.Actor.InvokedBy,
		appID:         ev.Actor.AppID,
		account:       ev.Account,
		region:        ev.Region,
		resourceGroup: ev.ResourceGroup,
		request:       ev.Request,
		time:          ev.Time,
		identities:    s.identities[:0],
		operations:    s.operations[:0],
		userAgents:    s.userAgents[:0],
		srcIPs:        s.srcIPs[:0],
		resources:     s.resources[:0],
	}
	s.identities = appendNonEmpty(s.identities, ev.Caller, ev.Actor.UID, ev.Actor.AppID)
	if ev.Provider == event.Azure {
		// An Azure name is a UPN or the caller; an AWS name is a role
		// session name, which the caller of AssumeRole picks, so it is
		// matched only as part of the ARN.
		s.identities = appendNonEmpty(s.identities, ev.Actor.Name)
	}
	s.operations = appendNonEmpty(s.operations, firstNonEmpty(ev.OperationName, ev.Operation))
	s.userAgents = appendNonEmpty(s.userAgents, ev.UserAgent)
	s.srcIPs = appendNonEmpty(s.srcIPs, firstNonEmpty(ev.SrcIP, ev.SrcDomain))
	for _, r := range ev.Resources {
		s.resources = appendNonEmpty(s.resources, r.UID)
	}
	s.resources = appendNonEmpty(s.resources, ev.ResourceID)
	if s.resourceGroup == "" {
		s.resourceGroup = event.ARMResourceGroup(ev.ResourceID)
	}
}

// subjectsOfFinding builds subjects from a finding alone, for callers that
// no longer hold the events: one per evidence item, with the finding's
// actor and resources.
func subjectsOfFinding(f *finding.Finding) []subject {
	base := subject{
		provider:   f.Provider,
		role:       f.Actor.Role,
		invokedBy:  f.Actor.InvokedBy,
		appID:      f.Actor.AppID,
		account:    f.Account,
		region:     f.Region,
		userAgents: f.Actor.UserAgents,
	}
	base.identities = appendNonEmpty(nil, f.Actor.Caller, f.Actor.UID, f.Actor.AppID)
	if f.Provider == event.Azure {
		base.identities = appendNonEmpty(base.identities, f.Actor.Name)
	}
	groups := map[string]bool{}
	for _, r := range f.Resources {
		base.resources = appendNonEmpty(base.resources, r.UID)
		if g := event.ARMResourceGroup(r.UID); g != "" {
			groups[strings.ToLower(g)] = true
			base.resourceGroup = g
		}
	}
	if len(groups) > 1 {
		base.resourceGroup = "" // several groups: resource_group cannot hold for all
	}
	if len(f.Evidence) == 0 {
		base.srcIPs = f.Actor.SrcIPs
		return []subject{base}
	}
	out := make([]subject, len(f.Evidence))
	for i, ev := range f.Evidence {
		s := base
		s.identities = appendNonEmpty(append([]string(nil), base.identities...), ev.Caller)
		s.operations = appendNonEmpty(nil, ev.Operation)
		s.time = ev.Time
		if ev.SrcIP != "" {
			s.srcIPs = []string{ev.SrcIP}
		} else {
			s.srcIPs = f.Actor.SrcIPs
		}
		out[i] = s
	}
	return out
}

// matches reports whether every attribute of m holds for s.
func (m *Match) matches(s *subject) bool {
	for i, gs := range m.globs {
		if len(gs) == 0 {
			continue
		}
		if !attrHolds(attr(i), gs, s) {
			return false
		}
	}
	if len(m.sourceIP) > 0 && !allMatch(s.srcIPs, func(v string) bool { return prefixesContain(m.sourceIP, v) }) {
		return false
	}
	if len(m.benign) > 0 && !anyIn(s.benign, m.benign) {
		return false
	}
	if m.time != nil && !m.time.Contains(s.time) {
		return false
	}
	return true
}

func attrHolds(i attr, gs globs, s *subject) bool {
	switch i {
	case attrPrincipal:
		for _, id := range s.identities {
			if gs.match(id) {
				return true
			}
		}
		return false
	case attrRole:
		return gs.match(s.role)
	case attrInvokedBy:
		return gs.match(s.invokedBy)
	case attrAppID:
		return gs.match(s.appID)
	case attrAccount:
		return gs.match(s.account)
	case attrRegion:
		return gs.match(s.region)
	case attrResourceGroup:
		return gs.match(s.resourceGroup)
	case attrResourceID:
		return allMatch(s.resources, gs.match)
	case attrOperation:
		return allMatch(s.operations, gs.match)
	case attrUserAgent:
		return allMatch(s.userAgents, gs.match)
	case attrRequestValue:
		return requestHas(s.request, gs)
	}
	return false
}

// allMatch is true when vals is not empty and every value passes: an
// attribute cannot hold for a value the log did not record.
func allMatch(vals []string, ok func(string) bool) bool {
	if len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		if !ok(v) {
			return false
		}
	}
	return true
}

func prefixesContain(ps []netip.Prefix, s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false // "AWS Internal", a service name: not an address
	}
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		if contains(want, h) {
			return true
		}
	}
	return false
}

// requestHas reports whether any string value (not a key) in the request
// JSON matches.
func requestHas(raw json.RawMessage, gs globs) bool {
	if len(raw) == 0 {
		return false
	}
	if plainJSON(raw) && json.Valid(raw) {
		p := requestParsers.Get()
		v, err := p.ParseBytes(raw)
		hit := err == nil && stringsMatch(v, gs)
		requestParsers.Put(p)
		if err == nil {
			return hit
		}
	}
	return requestHasTokens(raw, gs)
}

// requestParsers parse requests for requestHas: a finding of a noisy
// rule is tuned on every record it fires on.
var requestParsers fastjson.ParserPool

// plainJSON reports whether raw is ASCII without \u escapes: its strings
// then decode alike in fastjson and encoding/json (which replaces bad
// UTF-8 and lone surrogates), so requestHas may parse it the fast way
// once encoding/json finds it valid (fastjson lets more through).
func plainJSON(raw []byte) bool {
	for i, c := range raw {
		if c >= utf8.RuneSelf || c == '\\' && i+1 < len(raw) && raw[i+1] == 'u' {
			return false
		}
	}
	return true
}

// stringsMatch reports whether a string value (not a key) in v matches.
func stringsMatch(v *fastjson.Value, gs globs) bool {
	switch v.Type() {
	case fastjson.TypeString:
		return gs.match(string(v.GetStringBytes()))
	case fastjson.TypeObject:
		o, _ := v.Object()
		hit := false
		o.Visit(func(_ []byte, c *fastjson.Value) {
			hit = hit || stringsMatch(c, gs)
		})
		return hit
	case fastjson.TypeArray:
		for _, c := range v.GetArray() {
			if stringsMatch(c, gs) {
				return true
			}
		}
	}
	return false
}

// requestHasTokens is requestHas by encoding/json's tokens: the
// reference, and the way for a request fastjson may read otherwise (or
// not at all: the strings before a syntax error still count).
func requestHasTokens(raw json.RawMessage, gs globs) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	// inObject[i] is true when container i is an object; expectKey says
	// the next string of an object is a key.
	var inObject []bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				inObject = append(inObject, true)
				expectKey = true
				continue
			case '[':
				inObject = append(inObject, false)
				expectKey = false
				continue
			default:
				inObject = inObject[:len(inObject)-1]
			}
		case string:
			if expectKey {
				expectKey = false
				continue
			}
			if gs.match(t) {
				return true
			}
		}
		// A value ended: inside an object the next token is a key.
		expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}

func appendNonEmpty(list []string, vals ...string) []string {
	for _, v := range vals {
		if v != "" && !contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
