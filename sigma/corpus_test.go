package sigma

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// corpusDir is the shared SigmaHQ cloud rules, beside the repository.
const corpusDir = "../../shared/corpus/sigmahq-cloud-rules/rules"

func needCorpus(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not found at %s (it lives beside the repository as ../shared/corpus): %v", dir, err)
	}
}

// ct writes a CloudTrail record: eventSource, eventName and more fields.
func ct(source, name string, more ...string) string {
	m := map[string]any{"eventVersion": "1.11", "eventSource": source, "eventName": name,
		"awsRegion": "us-east-1", "recipientAccountId": "111122223333", "eventTime": "2026-11-02T10:00:00Z",
		"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}}
	addMore(m, more)
	b, _ := json.Marshal(m)
	return string(b)
}

// az writes an Azure Activity Log record of the diagnostic-export shape.
func az(op string, more ...string) string {
	m := map[string]any{"time": "2026-11-02T10:00:00Z", "operationName": op, "category": "Administrative",
		"resultType": "Success", "resourceId": "/SUBSCRIPTIONS/0B1C/RESOURCEGROUPS/RG/PROVIDERS/X/Y/Z"}
	addMore(m, more)
	b, _ := json.Marshal(m)
	return string(b)
}

// la writes an Azure AzureActivity (Log Analytics) row.
func la(op string, more ...string) string {
	m := map[string]any{"TimeGenerated": "2026-11-02T10:00:00Z", "OperationNameValue": op, "CategoryValue": "Administrative",
		"ActivityStatusValue": "Success", "Type": "AzureActivity"}
	addMore(m, more)
	b, _ := json.Marshal(m)
	return string(b)
}

// addMore sets dotted paths: "a.b=c" sets {"a":{"b":"c"}}; a value that
// is JSON (an object, array, number, bool or null) is kept as JSON; "-a"
// removes a key.
func addMore(m map[string]any, more []string) {
	for _, kv := range more {
		if strings.HasPrefix(kv, "-") {
			delete(m, kv[1:])
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		var val any = v
		if v != "" && strings.ContainsAny(v[:1], "{[0123456789tfn") {
			var x any
			if json.Unmarshal([]byte(v), &x) == nil {
				val = x
			}
		}
		parts := strings.Split(k, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = val
	}
}

// corpusCases has, for every SigmaHQ cloud rule, a record written to fire
// it and a near-miss that must not: the smallest change that crosses the
// rule's logic (another operation, a failed call, a filtered actor ...).
var corpusCases = map[string][2]string{
	"aws_cloudtrail_bedrock_guardrail_deleted": {ct("bedrock.amazonaws.com", "DeleteGuardrail"), ct("bedrock.amazonaws.com", "GetGuardrail")},
	"aws_cloudtrail_bedrock_guardrail_updated": {ct("bedrock.amazonaws.com", "UpdateGuardrail"), ct("bedrock.amazonaws.com", "DeleteGuardrailPolicy")},
	"aws_cloudtrail_bucket_deleted":            {ct("s3.amazonaws.com", "DeleteBucket"), ct("s3.amazonaws.com", "DeleteBucket", "errorCode=AccessDenied")},
	"aws_cloudtrail_console_login_failed_authentication": {
		ct("signin.amazonaws.com", "ConsoleLogin", "errorMessage=Failed authentication"),
		ct("signin.amazonaws.com", "ConsoleLogin", "responseElements.ConsoleLogin=Success")},
	"aws_cloudtrail_console_login_success_without_mfa": {
		ct("signin.amazonaws.com", "ConsoleLogin", "additionalEventData.MFAUsed=NO", "responseElements.ConsoleLogin=Success"),
		ct("signin.amazonaws.com", "ConsoleLogin", "additionalEventData.MFAUsed=Yes", "responseElements.ConsoleLogin=Success")},
	"aws_cloudtrail_disable_logging": {ct("cloudtrail.amazonaws.com", "StopLogging"), ct("cloudtrail.amazonaws.com", "StartLogging")},
	"aws_cloudtrail_guardduty_detector_deleted_or_updated": {
		ct("guardduty.amazonaws.com", "UpdateDetector", "requestParameters.enable=false"),
		ct("guardduty.amazonaws.com", "UpdateDetector", "requestParameters.enable=true")},
	"aws_cloudtrail_imds_malicious_usage": {
		ct("s3.amazonaws.com", "ListBuckets", "userIdentity.arn=arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc"),
		ct("ssm.amazonaws.com", "ListBuckets", "userIdentity.arn=arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc")},
	"aws_cloudtrail_new_acl_entries":                      {ct("ec2.amazonaws.com", "CreateNetworkAclEntry"), ct("ec2.amazonaws.com", "DescribeNetworkAcls")},
	"aws_cloudtrail_new_route_added":                      {ct("ec2.amazonaws.com", "CreateRoute"), ct("ec2.amazonaws.com", "CreateRouteTable")},
	"aws_cloudtrail_pua_trufflehog":                       {ct("sts.amazonaws.com", "GetCallerIdentity", "userAgent=TruffleHog"), ct("sts.amazonaws.com", "GetCallerIdentity", "userAgent=TruffleHog/3.63")},
	"aws_cloudtrail_region_enabled":                       {ct("account.amazonaws.com", "EnableRegion"), ct("account.amazonaws.com", "DisableRegion")},
	"aws_cloudtrail_security_group_change_ingress_egress": {ct("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"), ct("ec2.amazonaws.com", "DescribeSecurityGroups")},
	"aws_cloudtrail_security_group_change_loadbalancer":   {ct("elasticloadbalancing.amazonaws.com", "SetSecurityGroups"), ct("ec2.amazonaws.com", "SetSecurityGroups")},
	"aws_cloudtrail_security_group_change_rds":            {ct("rds.amazonaws.com", "CreateDBSecurityGroup"), ct("rds.amazonaws.com", "DescribeDBSecurityGroups")},
	"aws_cloudtrail_ssm_malicious_usage":                  {ct("ssm.amazonaws.com", "SendCommand", "errorCode=Success"), ct("ssm.amazonaws.com", "SendCommand", "errorCode=InvalidInstanceId")},
	"aws_cloudtrail_vpc_flow_logs_deleted":                {ct("ec2.amazonaws.com", "DeleteFlowLogs"), ct("ec2.amazonaws.com", "CreateFlowLogs")},
	"aws_config_disable_recording":                        {ct("config.amazonaws.com", "StopConfigurationRecorder"), ct("config.amazonaws.com", "StartConfigurationRecorder")},
	"aws_console_getsignintoken": {
		ct("signin.amazonaws.com", "GetSigninToken", "userAgent=python-requests/2.31"),
		ct("signin.amazonaws.com", "GetSigninToken", "userAgent=Jersey/${project.version} (HttpUrlConnection 1.8)")},
	"aws_delete_identity":      {ct("ses.amazonaws.com", "DeleteIdentity"), ct("ses.amazonaws.com", "VerifyEmailIdentity")},
	"aws_delete_saml_provider": {ct("iam.amazonaws.com", "DeleteSAMLProvider", "status=success"), ct("iam.amazonaws.com", "DeleteSAMLProvider", "status=failure")},
	"aws_disable_bucket_versioning": {
		ct("s3.amazonaws.com", "PutBucketVersioning", `requestParameters={"VersioningConfiguration":{"Status":"Suspended"},"bucketName":"b"}`),
		ct("s3.amazonaws.com", "PutBucketVersioning", `requestParameters={"VersioningConfiguration":{"Status":"Enabled"},"bucketName":"b"}`)},
	"aws_ec2_disable_encryption":       {ct("ec2.amazonaws.com", "DisableEbsEncryptionByDefault"), ct("ec2.amazonaws.com", "EnableEbsEncryptionByDefault")},
	"aws_ec2_import_key_pair_activity": {ct("ec2.amazonaws.com", "ImportKeyPair"), ct("ec2.amazonaws.com", "CreateKeyPair")},
	"aws_ec2_startup_script_change":    {ct("ec2.amazonaws.com", "ModifyInstanceAttribute", "requestParameters.attribute=userData"), ct("ec2.amazonaws.com", "ModifyInstanceAttribute", "requestParameters.attribute=instanceType")},
	"aws_ec2_vm_export_failure":        {ct("ec2.amazonaws.com", "CreateInstanceExportTask", "responseElements.exportTask.state=active"), ct("ec2.amazonaws.com", "CreateInstanceExportTask", "errorCode=Client.InvalidParameter")},
	"aws_ecs_task_definition_cred_endpoint_query": {
		ct("ecs.amazonaws.com", "RegisterTaskDefinition", `requestParameters.containerDefinitions=[{"command":["sh","-c","curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]`),
		ct("ecs.amazonaws.com", "RegisterTaskDefinition", `requestParameters.containerDefinitions=[{"command":["sh","-c","nginx"]}]`)},
	"aws_efs_fileshare_modified_or_deleted":              {ct("elasticfilesystem.amazonaws.com", "DeleteFileSystem"), ct("elasticfilesystem.amazonaws.com", "CreateFileSystem")},
	"aws_efs_fileshare_mount_modified_or_deleted":        {ct("elasticfilesystem.amazonaws.com", "DeleteMountTarget"), ct("elasticfilesystem.amazonaws.com", "CreateMountTarget")},
	"aws_eks_cluster_created_or_deleted":                 {ct("eks.amazonaws.com", "DeleteCluster"), ct("eks.amazonaws.com", "DescribeCluster")},
	"aws_elasticache_security_group_created":             {ct("elasticache.amazonaws.com", "CreateCacheSecurityGroup"), ct("elasticache.amazonaws.com", "DescribeCacheSecurityGroups")},
	"aws_elasticache_security_group_modified_or_deleted": {ct("elasticache.amazonaws.com", "RevokeCacheSecurityGroupIngress"), ct("elasticache.amazonaws.com", "CreateCacheSecurityGroup")},
	"aws_enum_buckets":                                   {ct("s3.amazonaws.com", "ListBuckets"), ct("s3.amazonaws.com", "ListBuckets", "userIdentity.type=AssumedRole")},
	"aws_guardduty_disruption":                           {ct("guardduty.amazonaws.com", "CreateIPSet"), ct("guardduty.amazonaws.com", "ListIPSets")},
	"aws_iam_backdoor_users_keys": {
		ct("iam.amazonaws.com", "CreateAccessKey", "requestParameters.userName=bob"),
		ct("iam.amazonaws.com", "CreateAccessKey", "userIdentity.arn=arn:aws:iam::1:user/responseElements.accessKey.userName")},
	"aws_iam_s3browser_loginprofile_creation": {ct("iam.amazonaws.com", "CreateLoginProfile", "userAgent=S3 Browser 11.4.5"), ct("iam.amazonaws.com", "CreateLoginProfile", "userAgent=aws-cli/2.15")},
	"aws_iam_s3browser_templated_s3_bucket_policy_creation": {
		ct("iam.amazonaws.com", "PutUserPolicy", "userAgent=S3 Browser 9.5.5", `requestParameters={"policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"]}]}"}`),
		ct("iam.amazonaws.com", "PutUserPolicy", "userAgent=S3 Browser 9.5.5", `requestParameters={"policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::prod-data/*\"]}]}"}`)},
	"aws_iam_s3browser_user_or_accesskey_creation": {ct("iam.amazonaws.com", "CreateUser", "userAgent=S3 Browser"), ct("iam.amazonaws.com", "DeleteUser", "userAgent=S3 Browser")},
	"aws_kms_import_key_material":                  {ct("kms.amazonaws.com", "ImportKeyMaterial"), ct("kms.amazonaws.com", "GetParametersForImport")},
	"aws_lambda_function_url":                      {ct("lambda.amazonaws.com", "CreateFunctionUrlConfig"), ct("lambda.amazonaws.com", "GetFunctionUrlConfig")},
	"aws_new_lambda_layer_attached": {
		ct("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", `requestParameters.layers=["arn:aws:lambda:us-east-1:1:layer:x:1"]`),
		ct("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", "requestParameters.timeout=30")},
	"aws_passed_role_to_glue_development_endpoint": {ct("glue.amazonaws.com", "CreateDevEndpoint"), ct("glue.amazonaws.com", "GetDevEndpoint")},
	"aws_rds_change_master_password": {
		ct("rds.amazonaws.com", "ModifyDBInstance", "responseElements.pendingModifiedValues.masterUserPassword=****"),
		ct("rds.amazonaws.com", "ModifyDBInstance", "responseElements.pendingModifiedValues.dBInstanceClass=db.t3.large")},
	"aws_rds_dbcluster_actions":                          {ct("rds.amazonaws.com", "DeleteDBCluster"), ct("rds.amazonaws.com", "CreateDBCluster")},
	"aws_rds_public_db_restore":                          {ct("rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot", "responseElements.publiclyAccessible=true"), ct("rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot", "responseElements.publiclyAccessible=false")},
	"aws_root_account_usage":                             {ct("ec2.amazonaws.com", "RunInstances", "userIdentity.type=Root"), ct("ec2.amazonaws.com", "RunInstances", "userIdentity.type=Root", "eventType=AwsServiceEvent")},
	"aws_route_53_domain_transferred_lock_disabled":      {ct("route53.amazonaws.com", "DisableDomainTransferLock"), ct("route53.amazonaws.com", "EnableDomainTransferLock")},
	"aws_route_53_domain_transferred_to_another_account": {ct("route53.amazonaws.com", "TransferDomainToAnotherAwsAccount"), ct("route53.amazonaws.com", "AcceptDomainTransferFromAnotherAwsAccount")},
	"aws_s3_data_management_tampering":                   {ct("s3.amazonaws.com", "PutBucketLogging"), ct("s3.amazonaws.com", "GetBucketLogging")},
	"aws_securityhub_finding_evasion":                    {ct("securityhub.amazonaws.com", "BatchUpdateFindings"), ct("securityhub.amazonaws.com", "GetFindings")},
	"aws_snapshot_backup_exfiltration":                   {ct("ec2.amazonaws.com", "ModifySnapshotAttribute"), ct("ec2.amazonaws.com", "DescribeSnapshotAttribute")},
	"aws_sso_idp_change":                                 {ct("sso.amazonaws.com", "DisassociateDirectory"), ct("sso.amazonaws.com", "ListDirectoryAssociations")},
	"aws_sts_assumerole_misuse": {
		ct("s3.amazonaws.com", "GetObject", "userIdentity.type=AssumedRole", "userIdentity.sessionContext.sessionIssuer.type=Role"),
		ct("s3.amazonaws.com", "GetObject", "userIdentity.type=AssumedRole", "userIdentity.sessionContext.sessionIssuer.type=Root")},
	"aws_sts_getcalleridentity_trufflehog": {ct("sts.amazonaws.com", "GetCallerIdentity", "userAgent=TruffleHog"), ct("sts.amazonaws.com", "GetCallerIdentity", "userAgent=aws-cli/2")},
	"aws_sts_getsessiontoken_misuse":       {ct("sts.amazonaws.com", "GetSessionToken"), ct("sts.amazonaws.com", "GetSessionToken", "userIdentity.type=AssumedRole")},
	"aws_susp_saml_activity":               {ct("iam.amazonaws.com", "UpdateSAMLProvider"), ct("iam.amazonaws.com", "CreateSAMLProvider")},
	"aws_update_login_profile": {
		ct("iam.amazonaws.com", "UpdateLoginProfile", "requestParameters.userName=bob"),
		ct("iam.amazonaws.com", "UpdateLoginProfile", "requestParameters.userName=arn:aws:iam::111122223333:user/alice")},
	"azure_aadhybridhealth_adfs_new_server": {
		la("Microsoft.ADHybridHealthService/services/servicemembers/action", "ResourceProviderValue=Microsoft.ADHybridHealthService", "ResourceId=/providers/Microsoft.ADHybridHealthService/services/AdFederationService-contoso.com"),
		la("Microsoft.ADHybridHealthService/services/servicemembers/action", "ResourceProviderValue=Microsoft.ADHybridHealthService", "ResourceId=/providers/Microsoft.ADHybridHealthService/services/AadSyncService-contoso.com")},
	"azure_aadhybridhealth_adfs_service_delete": {
		la("Microsoft.ADHybridHealthService/services/delete", "ResourceProviderValue=Microsoft.ADHybridHealthService", "ResourceId=/providers/Microsoft.ADHybridHealthService/services/AdFederationService-contoso.com"),
		la("Microsoft.ADHybridHealthService/services/delete", "CategoryValue=Policy", "ResourceProviderValue=Microsoft.ADHybridHealthService", "ResourceId=/providers/Microsoft.ADHybridHealthService/services/AdFederationService-contoso.com")},
	"azure_application_gateway_modified_or_deleted":             {az("MICROSOFT.NETWORK/APPLICATIONGATEWAYS/DELETE"), az("MICROSOFT.NETWORK/APPLICATIONGATEWAYS/READ")},
	"azure_application_security_group_modified_or_deleted":      {az("Microsoft.Network/applicationSecurityGroups/write"), az("Microsoft.Network/applicationSecurityGroups/read")},
	"azure_container_registry_created_or_deleted":               {az("MICROSOFT.CONTAINERREGISTRY/REGISTRIES/WRITE"), az("MICROSOFT.CONTAINERREGISTRY/REGISTRIES/LISTCREDENTIALS/ACTION")},
	"azure_creating_number_of_resources_detection":              {az("MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE"), az("MICROSOFT.RESOURCES/DEPLOYMENTS/READ")},
	"azure_device_or_configuration_modified_or_deleted":         {az("X", "properties.message=Delete device"), az("X", "properties.message=Read device")},
	"azure_dns_zone_modified_or_deleted":                        {az("MICROSOFT.NETWORK/DNSZONES/A/WRITE"), az("MICROSOFT.NETWORK/DNSZONES/A/READ")},
	"azure_firewall_modified_or_deleted":                        {az("MICROSOFT.NETWORK/AZUREFIREWALLS/WRITE"), az("MICROSOFT.NETWORK/AZUREFIREWALLS/READ")},
	"azure_firewall_rule_collection_modified_or_deleted":        {az("MICROSOFT.NETWORK/AZUREFIREWALLS/NATRULECOLLECTIONS/DELETE"), az("MICROSOFT.NETWORK/AZUREFIREWALLS/NATRULECOLLECTIONS/READ")},
	"azure_granting_permission_detection":                       {az("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"), az("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE")},
	"azure_keyvault_key_modified_or_deleted":                    {az("MICROSOFT.KEYVAULT/VAULTS/KEYS/PURGE/ACTION"), az("MICROSOFT.KEYVAULT/VAULTS/KEYS/READ")},
	"azure_keyvault_modified_or_deleted":                        {az("MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE"), az("MICROSOFT.KEYVAULT/VAULTS/READ")},
	"azure_keyvault_secrets_modified_or_deleted":                {az("MICROSOFT.KEYVAULT/VAULTS/SECRETS/SETSECRET/ACTION"), az("MICROSOFT.KEYVAULT/VAULTS/SECRETS/GETSECRET/ACTION")},
	"azure_kubernetes_admission_controller":                     {az("MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/ADMISSIONREGISTRATION.K8S.IO/MUTATINGWEBHOOKCONFIGURATIONS/WRITE"), az("MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/ADMISSIONREGISTRATION.K8S.IO/MUTATINGWEBHOOKCONFIGURATIONS/READ")},
	"azure_kubernetes_cluster_created_or_deleted":               {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/DELETE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/READ")},
	"azure_kubernetes_cronjob":                                  {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/BATCH/CRONJOBS/WRITE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/BATCH/CRONJOBS/DELETE")},
	"azure_kubernetes_events_deleted":                           {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/EVENTS.K8S.IO/EVENTS/DELETE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/EVENTS.K8S.IO/EVENTS/READ")},
	"azure_kubernetes_network_policy_change":                    {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/NETWORKING.K8S.IO/NETWORKPOLICIES/WRITE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/NETWORKING.K8S.IO/NETWORKPOLICIES/READ")},
	"azure_kubernetes_pods_deleted":                             {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/PODS/DELETE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/PODS/WRITE")},
	"azure_kubernetes_role_access":                              {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/RBAC.AUTHORIZATION.K8S.IO/CLUSTERROLES/ESCALATE/ACTION"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/RBAC.AUTHORIZATION.K8S.IO/CLUSTERROLES/READ")},
	"azure_kubernetes_rolebinding_modified_or_deleted":          {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/RBAC.AUTHORIZATION.K8S.IO/ROLEBINDINGS/WRITE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/RBAC.AUTHORIZATION.K8S.IO/ROLEBINDINGS/READ")},
	"azure_kubernetes_secret_or_config_object_access":           {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/SECRETS/WRITE"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/SECRETS/READ")},
	"azure_kubernetes_service_account_modified_or_deleted":      {az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/SERVICEACCOUNTS/IMPERSONATE/ACTION"), az("MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/SERVICEACCOUNTS/READ")},
	"azure_network_firewall_policy_modified_or_deleted":         {az("MICROSOFT.NETWORK/FIREWALLPOLICIES/JOIN/ACTION"), az("MICROSOFT.NETWORK/FIREWALLPOLICIES/READ")},
	"azure_network_firewall_rule_modified_or_deleted":           {az("MICROSOFT.NETWORK/FIREWALLPOLICIES/RULEGROUPS/DELETE"), az("MICROSOFT.NETWORK/FIREWALLPOLICIES/RULEGROUPS/READ")},
	"azure_network_p2s_vpn_modified_or_deleted":                 {az("MICROSOFT.NETWORK/P2SVPNGATEWAYS/RESET/ACTION"), az("MICROSOFT.NETWORK/P2SVPNGATEWAYS/READ")},
	"azure_network_security_modified_or_deleted":                {az("MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/DELETE"), az("MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/READ")},
	"azure_network_virtual_device_modified_or_deleted":          {az("MICROSOFT.NETWORK/VIRTUALHUBS/WRITE"), az("MICROSOFT.NETWORK/VIRTUALHUBS/READ")},
	"azure_new_cloudshell_created":                              {az("MICROSOFT.PORTAL/CONSOLES/WRITE"), az("MICROSOFT.PORTAL/CONSOLES/DELETE")},
	"azure_rare_operations":                                     {az("Microsoft.Storage/storageAccounts/listKeys/action"), az("Microsoft.Storage/storageAccounts/read")},
	"azure_subscription_permissions_elevation_via_activitylogs": {az("MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION"), az("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/READ")},
	"azure_suppression_rule_created":                            {az("MICROSOFT.SECURITY/ALERTSSUPPRESSIONRULES/WRITE"), az("MICROSOFT.SECURITY/ALERTSSUPPRESSIONRULES/DELETE")},
	"azure_virtual_network_modified_or_deleted":                 {az("MICROSOFT.NETWORK/VIRTUALNETWORKS/SUBNETS/WRITE"), az("MICROSOFT.NETWORK/VIRTUALNETWORKS/SUBNETS/READ")},
	"azure_vpn_connection_modified_or_deleted":                  {az("MICROSOFT.NETWORK/VPNGATEWAYS/VPNCONNECTIONS/DELETE"), az("MICROSOFT.NETWORK/VPNGATEWAYS/READ")},
}

func corpusEvent(raw string) *event.Event {
	ev := &event.Event{Raw: []byte(raw), Provider: event.AWS, Format: event.FormatCloudTrailLines}
	switch {
	case strings.Contains(raw, `"operationName"`):
		ev.Provider, ev.Format = event.Azure, event.FormatAzureStorage
	case strings.Contains(raw, `"OperationNameValue"`):
		ev.Provider, ev.Format = event.Azure, event.FormatAzureLogAnalytics
	}
	return ev
}

// TestSigmaHQCloudRules loads every SigmaHQ AWS CloudTrail and Azure
// Activity rule of the shared corpus: each loads (or is reported with its
// construct), and fires on its own event and not on its near-miss.
func TestSigmaHQCloudRules(t *testing.T) {
	needCorpus(t, corpusDir)
	rs, err := Load([]string{corpusDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rs.Problems {
		t.Errorf("problem: %s", p)
	}
	if rs.Files != 92 || len(rs.Rules) != 92 {
		t.Errorf("read %d files, loaded %d rules; want 92 and 92", rs.Files, len(rs.Rules))
	}
	run := NewRunner(rs, RunOptions{})
	seen := map[string]bool{}
	for _, r := range rs.Rules {
		base := strings.TrimSuffix(filepath.Base(r.File), ".yml")
		seen[base] = true
		c, ok := corpusCases[base]
		if !ok {
			t.Errorf("%s: no test case", base)
			continue
		}
		t.Run(base, func(t *testing.T) {
			if !hasRule(run.Match(corpusEvent(c[0])), r) {
				t.Errorf("does not fire on its event %s", c[0])
			}
			if hasRule(run.Match(corpusEvent(c[1])), r) {
				t.Errorf("fires on its near-miss %s", c[1])
			}
		})
	}
	var extra []string
	for k := range corpusCases {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("cases for rules not in the corpus: %v", extra)
	}
}

func hasRule(rs []*Rule, r *Rule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}
