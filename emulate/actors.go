package emulate

import (
	"strings"

	"github.com/revertwatch/revertwatch/event"
)

// awsActor is a principal as CloudTrail's userIdentity records it, with the
// network origin and client it calls from.
type awsActor struct {
	Type        string // IAMUser, AssumedRole, AWSService
	Name        string // IAM user name or role name
	RolePath    string // role path, e.g. "service-role/"; "" for "/"
	Session     string // role session name
	InvokedBy   string // service making the call for the principal
	IP          string // sourceIPAddress: an address, a service name or "AWS Internal"
	UserAgent   string
	Console     bool   // a console session (sessionCredentialFromConsole)
	MFA         bool   // mfaAuthenticated
	WebIdentity string // OIDC provider host for web-identity sessions
	EC2Role     bool   // instance-profile credentials (ec2RoleDelivery)
}

// User agents of real clients, with versions of their time.
const (
	uaCLI       = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1017-aws exe/x86_64.ubuntu.22 prompt/off command/"
	uaBoto3     = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.8.0-1009-aws md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84"
	uaConsole   = "AWS Internal"
	uaTerraform = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.63.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0"
	uaPacker    = "APN/1.0 HashiCorp/1.0 Packer/1.11.2 (+https://www.packer.io) aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)"
	uaLambda    = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.224-232.895.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145"
	uaSSMAgent  = "aws-sdk-go/1.55.5 (go1.22.8; linux; amd64) amazon-ssm-agent/3.3.1142.0"
	uaBrowser   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"
)

// awsActors are the principals scenarios and noise act as. Addresses are
// from the documentation ranges (RFC 5737).
var awsActors = map[string]awsActor{
	// A long-term access key of a deployment user, used from outside.
	"stolen-key": {Type: "IAMUser", Name: "svc-deploy", IP: "203.0.113.45", UserAgent: uaCLI},
	// An operator's assumed role through the Python SDK.
	"ops-boto3": {Type: "AssumedRole", Name: "OpsAdmin", Session: "mallory.ops", IP: "198.51.100.23", UserAgent: uaBoto3},
	// A person in the EC2 console through IAM Identity Center.
	"console-sso": {Type: "AssumedRole", Name: "AWSReservedSSO_AdministratorAccess_5f1c9e0a2b3d4c6e", RolePath: "aws-reserved/sso.amazonaws.com/",
		Session: "dana@example.com", IP: "AWS Internal", UserAgent: uaConsole, Console: true, MFA: true},
	"backup-operator": {Type: "AssumedRole", Name: "BackupOperator", Session: "jdoe", IP: "192.0.2.140", UserAgent: uaCLI, MFA: true},
	"migration-admin": {Type: "AssumedRole", Name: "MigrationAdmin", Session: "dr-migration-2026", IP: "192.0.2.77", UserAgent: uaCLI},
	"terraform-ci": {Type: "AssumedRole", Name: "GitHubActionsDeploy", Session: "GitHubActions", IP: "198.51.100.201", UserAgent: uaTerraform,
		WebIdentity: "token.actions.githubusercontent.com"},
	"packer-ci": {Type: "AssumedRole", Name: "PackerBuild", Session: "packer-ami-pipeline", IP: "198.51.100.202", UserAgent: uaPacker},
	"scheduler": {Type: "AssumedRole", Name: "InstanceSchedulerRole", Session: "InstanceScheduler-SchedulerFunction", IP: "192.0.2.10", UserAgent: uaLambda},
	"imagebuilder": {Type: "AssumedRole", Name: "AWSServiceRoleForImageBuilder", RolePath: "aws-service-role/imagebuilder.amazonaws.com/",
		Session: "Ec2ImageBuilderIntegrationService", InvokedBy: "imagebuilder.amazonaws.com", IP: "imagebuilder.amazonaws.com", UserAgent: "imagebuilder.amazonaws.com"},
	"backup": {Type: "AssumedRole", Name: "AWSBackupDefaultServiceRole", RolePath: "service-role/", Session: "AWSBackup-AWSBackupDefaultServiceRole",
		InvokedBy: "backup.amazonaws.com", IP: "backup.amazonaws.com", UserAgent: "backup.amazonaws.com"},
	"dlm": {Type: "AssumedRole", Name: "AWSDataLifecycleManagerDefaultRole", RolePath: "service-role/", Session: "DataLifecycleManager",
		InvokedBy: "dlm.amazonaws.com", IP: "dlm.amazonaws.com", UserAgent: "dlm.amazonaws.com"},
	"autoscaling": {Type: "AssumedRole", Name: "AWSServiceRoleForAutoScaling", RolePath: "aws-service-role/autoscaling.amazonaws.com/",
		Session: "AutoScaling", InvokedBy: "autoscaling.amazonaws.com", IP: "autoscaling.amazonaws.com", UserAgent: "autoscaling.amazonaws.com"},
	"ssm-agent": {Type: "AssumedRole", Name: "AmazonSSMRoleForInstancesQuickSetup", Session: "i-0c3e5a7b9d1f24680", IP: "198.51.100.61", UserAgent: uaSSMAgent, EC2Role: true},
	"browser-user": {Type: "AssumedRole", Name: "AWSReservedSSO_ReadOnlyAccess_0b2d4f6a8c1e3a5b", RolePath: "aws-reserved/sso.amazonaws.com/",
		Session: "erin@example.com", IP: "198.51.100.88", UserAgent: uaBrowser, Console: true, MFA: true},
}

// userIdentity renders an actor's userIdentity for an account at a time.
func (a awsActor) userIdentity(g idSource, account, created string) obj {
	roleID := "AROA" + g.upper(17, "role", account, a.Name)
	switch a.Type {
	case "IAMUser":
		return obj{
			{"type", "IAMUser"},
			{"principalId", "AIDA" + g.upper(17, "user", account, a.Name)},
			{"arn", "arn:aws:iam::" + account + ":user/" + a.Name},
			{"accountId", account},
			{"accessKeyId", "AKIA" + g.upper(16, "key", account, a.Name)},
			{"userName", a.Name},
		}
	case "AWSService":
		return obj{{"type", "AWSService"}, {"invokedBy", a.InvokedBy}}
	}
	attrs := obj{{"creationDate", created}, {"mfaAuthenticated", boolString(a.MFA)}}
	sc := obj{{"sessionIssuer", obj{
		{"type", "Role"},
		{"principalId", roleID},
		{"arn", "arn:aws:iam::" + account + ":role/" + a.RolePath + a.Name},
		{"accountId", account},
		{"userName", a.Name},
	}}}
	if a.WebIdentity != "" {
		sc = sc.set("webIdFederationData", obj{
			{"federatedProvider", "arn:aws:iam::" + account + ":oidc-provider/" + a.WebIdentity},
			{"attributes", obj{}},
		})
	} else {
		sc = sc.set("webIdFederationData", obj{})
	}
	sc = sc.set("attributes", attrs)
	if a.EC2Role {
		sc = sc.set("ec2RoleDelivery", "2.0")
	}
	u := obj{
		{"type", "AssumedRole"},
		{"principalId", roleID + ":" + a.Session},
		{"arn", "arn:aws:sts::" + account + ":assumed-role/" + a.Name + "/" + a.Session},
		{"accountId", account},
	}
	if a.InvokedBy == "" {
		if isHole(created) {
			u = u.set("accessKeyId", "ASIA"+holeString('A'))
		} else {
			u = u.set("accessKeyId", "ASIA"+g.upper(16, "session", account, a.Name, a.Session, created))
		}
	}
	u = u.set("sessionContext", sc)
	if a.InvokedBy != "" {
		u = u.set("invokedBy", a.InvokedBy)
	}
	return u
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// azActor is an Azure caller: a person, a service principal, a managed
// identity or a Microsoft first-party service.
type azActor struct {
	UPN        string // people only
	Name       string // display name (people)
	OID        string // object id
	AppID      string // client application id
	IDType     string // idtyp claim: user or app
	MIResource string // xms_mirid for managed identities
	IP         string
	Role       string // RBAC role that granted the call
	RoleDefID  string
}

// First-party application ids (telemetry.md §7.2).
const (
	appAzureCLI      = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	appAzurePortal   = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	appBackupService = "262044b1-e2ce-469f-a196-69ab7ada62d3"
	appSiteRecovery  = "b8340c3b-9267-498f-b21a-15d5547fd85e"
	roleContributor  = "b24988ac618042a0ab8820f7382dd24c"
	roleVMContrib    = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
	roleBackupOp     = "00c29273-979b-4161-815c-10b084fb9324"
)

var azActors = map[string]azActor{
	"cli-admin": {UPN: "ops.admin@fabrikam.example", Name: "Ops Admin", OID: "3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b",
		AppID: appAzureCLI, IDType: "user", IP: "203.0.113.77", Role: "Contributor", RoleDefID: roleContributor},
	"portal-user": {UPN: "alice@fabrikam.example", Name: "Alice Kim", OID: "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
		AppID: appAzurePortal, IDType: "user", IP: "198.51.100.14", Role: "Virtual Machine Contributor", RoleDefID: strings.ReplaceAll(roleVMContrib, "-", "")},
	"backup-admin": {UPN: "backup.admin@fabrikam.example", Name: "Backup Admin", OID: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
		AppID: appAzurePortal, IDType: "user", IP: "192.0.2.140", Role: "Backup Operator", RoleDefID: strings.ReplaceAll(roleBackupOp, "-", "")},
	"deploy-sp": {OID: "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", AppID: "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
		IDType: "app", IP: "198.51.100.201", Role: "Contributor", RoleDefID: roleContributor},
	"backup-service": {OID: "4d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", AppID: appBackupService, IDType: "app",
		IP: "", Role: "Backup Contributor", RoleDefID: "5e467623bb1f42f4a55d6e525e11384b"},
	"site-recovery": {OID: "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", AppID: appSiteRecovery, IDType: "app",
		IP: "", Role: "Site Recovery Contributor", RoleDefID: "6670b86ea3f74917ac9b5d6ab1be4567"},
	"automation-mi": {OID: "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b", AppID: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", IDType: "app",
		MIResource: "/subscriptions/" + subProd + "/resourcegroups/ops-rg/providers/Microsoft.Automation/automationAccounts/nightly-ops",
		IP:         "192.0.2.33", Role: "Contributor", RoleDefID: roleContributor},
}

// caller is the REST and Log Analytics caller: the UPN of a person, the
// object id of anything else.
func (a azActor) caller() string {
	if a.UPN != "" {
		return a.UPN
	}
	return a.OID
}

// claims renders the token claims Activity Log keeps.
func (a azActor) claims(g idSource, issued int64) obj {
	iat := itoa(int(issued))
	c := obj{
		{"aud", "https://management.core.windows.net/"},
		{"iss", "https://sts.windows.net/" + tenantID + "/"},
		{"iat", iat},
		{"nbf", iat},
		{"exp", itoa(int(issued + 4500))},
	}
	if a.IDType == "user" {
		c = append(c,
			member{"http://schemas.microsoft.com/claims/authnclassreference", "1"},
			member{"aio", g.alnum(52, "aio", a.OID, iat)},
			member{"http://schemas.microsoft.com/claims/authnmethodsreferences", "pwd,mfa"},
			member{"appid", a.AppID},
			member{"appidacr", "0"},
			member{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", lastWord(a.Name)},
			member{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", firstWord(a.Name)},
			member{"ipaddr", a.IP},
			member{"name", a.Name},
			member{"http://schemas.microsoft.com/identity/claims/objectidentifier", a.OID},
			member{"puid", "10032" + strings.ToUpper(g.hex(11, "puid", a.OID))},
			member{"rh", "0.A" + g.alnum(40, "rh", a.OID) + "."},
			member{"http://schemas.microsoft.com/identity/claims/scope", "user_impersonation"},
			member{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier", g.alnum(43, "sub", a.OID)},
			member{"http://schemas.microsoft.com/identity/claims/tenantid", tenantID},
			member{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", a.UPN},
			member{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", a.UPN},
			member{"uti", g.alnum(22, "uti", a.OID, iat)},
			member{"ver", "1.0"},
			member{"idtyp", "user"},
		)
		return c
	}
	c = append(c,
		member{"aio", g.alnum(56, "aio", a.OID, iat)},
		member{"appid", a.AppID},
		member{"appidacr", "2"},
		member{"http://schemas.microsoft.com/identity/claims/identityprovider", "https://sts.windows.net/" + tenantID + "/"},
		member{"idtyp", "app"},
		member{"http://schemas.microsoft.com/identity/claims/objectidentifier", a.OID},
		member{"rh", "0.A" + g.alnum(40, "rh", a.OID) + "."},
		member{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier", a.OID},
		member{"http://schemas.microsoft.com/identity/claims/tenantid", tenantID},
		member{"uti", g.alnum(22, "uti", a.OID, iat)},
		member{"ver", "1.0"},
	)
	if a.MIResource != "" {
		c = c.set("xms_mirid", a.MIResource)
	}
	return c
}

// authorization renders the RBAC decision for an action on a scope.
func (a azActor) authorization(g idSource, action, scope string) obj {
	ptype := "User"
	if a.IDType == "app" {
		ptype = "ServicePrincipal"
	}
	return obj{
		{"action", action},
		{"scope", scope},
		{"evidence", obj{
			{"role", a.Role},
			{"roleAssignmentScope", "/subscriptions/" + event.ARMSubscription(scope)},
			{"roleAssignmentId", g.hex(32, "ra", a.OID)},
			{"roleDefinitionId", a.RoleDefID},
			{"principalId", strings.ReplaceAll(a.OID, "-", "")},
			{"principalType", ptype},
		}},
	}
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

func lastWord(s string) string {
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		return s[i+1:]
	}
	return s
}
