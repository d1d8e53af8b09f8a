package finding

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/revertwatch/revertwatch/attack"
	"github.com/revertwatch/revertwatch/level"
)

// OCSF Detection Finding constants (schema 1.8.0, events/findings/detection_finding.json).
const (
	ocsfCategoryFindings = 2
	ocsfClassDetection   = 2004
	ocsfActivityCreate   = 1
	ocsfStatusNew        = 1
	ocsfStatusSuppressed = 3
	ocsfAnalyticRule     = 1
)

type ocsfNamed struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
}

type ocsfAttack struct {
	Tactic       ocsfNamed `json:"tactic"`
	Technique    ocsfNamed `json:"technique"`
	SubTechnique ocsfNamed `json:"sub_technique"`
	Version      string    `json:"version"`
}

type ocsfAnalytic struct {
	UID    string `json:"uid"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	TypeID int    `json:"type_id"`
}

type ocsfFindingInfo struct {
	UID           string       `json:"uid"`
	Title         string       `json:"title"`
	Desc          string       `json:"desc,omitempty"`
	Analytic      ocsfAnalytic `json:"analytic"`
	Attacks       []ocsfAttack `json:"attacks"`
	FirstSeenTime int64        `json:"first_seen_time"`
	LastSeenTime  int64        `json:"last_seen_time"`
	Types         []string     `json:"types,omitempty"`
	SrcURL        string       `json:"src_url,omitempty"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

type ocsfMetadata struct {
	Version string      `json:"version"`
	Product ocsfProduct `json:"product"`
	UID     string      `json:"uid"`
}

type ocsfUser struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

type ocsfActor struct {
	User      ocsfUser `json:"user"`
	InvokedBy string   `json:"invoked_by,omitempty"`
	AppUID    string   `json:"app_uid,omitempty"`
}

type ocsfAPI struct {
	Operation string `json:"operation"`
}

type ocsfEndpoint struct {
	IP string `json:"ip,omitempty"`
}

type ocsfEvidence struct {
	API         ocsfAPI         `json:"api"`
	Actor       *ocsfActor      `json:"actor,omitempty"`
	SrcEndpoint *ocsfEndpoint   `json:"src_endpoint,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	Name        string          `json:"name,omitempty"`
	UID         string          `json:"uid,omitempty"`
}

type ocsfResource struct {
	UID    string `json:"uid"`
	Type   string `json:"type,omitempty"`
	Region string `json:"region,omitempty"`
	Role   string `json:"role,omitempty"`
}

type ocsfCloud struct {
	Provider string    `json:"provider"`
	Account  ocsfNamed `json:"account"`
	Region   string    `json:"region,omitempty"`
}

type ocsfRemediation struct {
	Desc string `json:"desc"`
}

// ocsfFinding is one OCSF Detection Finding: every attribute the class
// requires (activity_id, category_uid, class_uid, finding_info, metadata,
// severity_id, time, type_uid) and the recommended ones we can fill.
type ocsfFinding struct {
	ActivityID   int             `json:"activity_id"`
	ActivityName string          `json:"activity_name"`
	CategoryUID  int             `json:"category_uid"`
	CategoryName string          `json:"category_name"`
	ClassUID     int             `json:"class_uid"`
	ClassName    string          `json:"class_name"`
	TypeUID      int             `json:"type_uid"`
	TypeName     string          `json:"type_name"`
	Time         int64           `json:"time"`
	StartTime    int64           `json:"start_time"`
	EndTime      int64           `json:"end_time"`
	Count        int             `json:"count,omitempty"` // the records a folded finding stands for (Finding.Hits)
	Severity     string          `json:"severity"`
	SeverityID   int             `json:"severity_id"`
	Confidence   string          `json:"confidence"`
	ConfidenceID int             `json:"confidence_id"`
	Status       string          `json:"status"`
	StatusID     int             `json:"status_id"`
	StatusDetail string          `json:"status_detail,omitempty"`
	Message      string          `json:"message"`
	IsAlert      bool            `json:"is_alert"`
	FindingInfo  ocsfFindingInfo `json:"finding_info"`
	Metadata     ocsfMetadata    `json:"metadata"`
	Cloud        ocsfCloud       `json:"cloud"`
	Actor        ocsfActor       `json:"actor"`
	Evidences    []ocsfEvidence  `json:"evidences"`
	Resources    []ocsfResource  `json:"resources"`
	Remediation  ocsfRemediation `json:"remediation"`
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// OCSF converts a finding to an OCSF Detection Finding (class 2004).
func OCSF(f *Finding, version string) any {
	severity, _ := level.Parse(f.Severity)
	confidence, _ := level.Parse(f.Confidence)
	// Every finding is reported as the technique revertwatch is for.
	a := attack.RevertCloudInstance
	o := ocsfFinding{
		ActivityID: ocsfActivityCreate, ActivityName: "Create",
		CategoryUID: ocsfCategoryFindings, CategoryName: "Findings",
		ClassUID: ocsfClassDetection, ClassName: "Detection Finding",
		TypeUID: ocsfClassDetection*100 + ocsfActivityCreate, TypeName: "Detection Finding: Create",
		Time: f.LastSeen.UnixMilli(), StartTime: f.FirstSeen.UnixMilli(), EndTime: f.LastSeen.UnixMilli(), Count: f.Hits,
		Severity: title(f.Severity), SeverityID: severity.OCSFSeverityID(),
		Confidence: title(f.Confidence), ConfidenceID: confidence.OCSFConfidenceID(),
		Status: "New", StatusID: ocsfStatusNew,
		Message: f.Title, IsAlert: !f.Suppressed,
		FindingInfo: ocsfFindingInfo{
			UID: f.ID, Title: f.Title, Desc: f.Description,
			Analytic: ocsfAnalytic{UID: f.RuleID, Name: f.Title, Type: "Rule", TypeID: ocsfAnalyticRule},
			Attacks: []ocsfAttack{{
				Tactic:       ocsfNamed{UID: a.Tactic.ID, Name: a.Tactic.Name},
				Technique:    ocsfNamed{UID: a.Technique.ID, Name: a.Technique.Name},
				SubTechnique: ocsfNamed{UID: a.SubTechnique.ID, Name: a.SubTechnique.Name},
				Version:      attack.Version,
			}},
			FirstSeenTime: f.FirstSeen.UnixMilli(), LastSeenTime: f.LastSeen.UnixMilli(),
			Types: []string{a.SubTechnique.Name}, SrcURL: a.SubTechnique.URL(),
		},
		Metadata: ocsfMetadata{Version: ocsfSchemaVersion, UID: f.ID,
			Product: ocsfProduct{Name: ProductName, VendorName: ProductVendor, Version: version}},
		Cloud: ocsfCloud{Provider: f.Provider, Account: ocsfNamed{UID: f.Account}, Region: f.Region},
		Actor: ocsfActor{User: ocsfUser{UID: f.Actor.UID, Name: f.Actor.Caller, Type: f.Actor.Type},
			InvokedBy: f.Actor.InvokedBy, AppUID: f.Actor.AppID},
		Remediation: ocsfRemediation{Desc: strings.Join(f.NextSteps, "\n")},
	}
	if o.SeverityID == 0 {
		o.Severity = "Unknown"
	}
	if f.Suppressed {
		o.Status, o.StatusID, o.StatusDetail = "Suppressed", ocsfStatusSuppressed, f.SuppressionReason
	}
	for _, e := range f.Evidence {
		ev := ocsfEvidence{API: ocsfAPI{Operation: e.Operation}, Data: e.Raw, Name: e.Step, UID: e.UID}
		if e.Caller != "" {
			ev.Actor = &ocsfActor{User: ocsfUser{Name: e.Caller}}
		}
		if e.SrcIP != "" {
			ev.SrcEndpoint = &ocsfEndpoint{IP: e.SrcIP}
		}
		o.Evidences = append(o.Evidences, ev)
	}
	for _, r := range f.Resources {
		o.Resources = append(o.Resources, ocsfResource{UID: r.UID, Type: r.Type, Region: f.Region, Role: r.Role})
	}
	return o
}

// WriteOCSF writes one OCSF Detection Finding per line.
func WriteOCSF(w io.Writer, fs []Finding, version string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range fs {
		if err := enc.Encode(OCSF(&fs[i], version)); err != nil {
			return err
		}
	}
	return nil
}
