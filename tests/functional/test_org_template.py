"""templates/org-member.yaml (the StackSet in each member account) and the hub side of template.yaml: the member
roles are granted exactly what edgemedic calls through them, trust only the hub's function roles with the
external id, and the forwarding rules match the hub's own patterns, minus edgemedic's own changes (moto's
EventBridge pattern engine); the hub's bus admits only its organization; `sam validate --lint` passes."""
from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern
from test_template import ROOT, load_cfn_yaml, load_event, pattern, run_sam

from edgemedic.handlers import iam

MEMBER = "444455556666"
HUB = "111122223333"
PARAMETERS = {"AWS::Partition": "aws", "AWS::AccountId": MEMBER, "AWS::Region": "us-east-1",
              "ApplyRoleName": "edgemedic-apply", "ReadRoleName": "edgemedic-read", "HubAccountId": HUB,
              "HubStackName": "edgemedic"}


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    return load_cfn_yaml(str(ROOT / "templates" / "org-member.yaml"))


@pytest.fixture(scope="module")
def hub() -> dict[str, Any]:
    return load_cfn_yaml(str(ROOT / "template.yaml"))


def sub(value: Any) -> Any:
    """``!Sub`` strings with the parameters above, as CloudFormation would resolve them in the member account."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            for name, replacement in PARAMETERS.items():
                text = text.replace("${" + name + "}", replacement)
            assert "${" not in text, text
            return text
        return {k: sub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sub(v) for v in value]
    return value


def role_actions(role: dict) -> list[str]:
    """Every action granted, a conditional statement (Security Hub export) as when its condition holds."""
    actions: list[str] = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if set(statement) == {"Fn::If"}:
                condition, statement, otherwise = statement["Fn::If"]
                assert (condition, otherwise) == ("ExportToSecurityHub", {"Ref": "AWS::NoValue"})
                assert sub(statement["Resource"]) == \
                    f"arn:aws:securityhub:us-east-1:{MEMBER}:product/{MEMBER}/default"
            assert statement["Effect"] == "Allow"
            actions.extend(statement["Action"])
    return actions


def hub_statements(function: str) -> list[dict]:
    hub = load_cfn_yaml(str(ROOT / "template.yaml"))
    return [s for p in hub["Resources"][function]["Properties"]["Policies"] for s in p["Statement"]]


def test_member_roles_are_granted_exactly_what_edgemedic_calls_through_them(member: dict) -> None:
    from edgemedic.act.scope import TAG_ACTIONS

    assert set(TAG_ACTIONS) <= set(iam.MEMBER_READ_ACTIONS) and set(TAG_ACTIONS) <= set(iam.MEMBER_APPLY_ACTIONS)
    read, apply = member["Resources"]["ReadRole"], member["Resources"]["ApplyRole"]
    assert sorted(role_actions(read)) == sorted(iam.MEMBER_READ_ACTIONS)
    assert sorted(role_actions(apply)) == sorted(iam.MEMBER_APPLY_ACTIONS)
    for role in (read, apply):
        actions = role_actions(role)
        assert len(actions) == len(set(actions)), "an action is granted twice"
    update = [s for p in apply["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
              if s.get("Action") == ["cloudfront:UpdateDistribution"]]
    assert sub(update[0]["Resource"]) == f"arn:aws:cloudfront::{MEMBER}:distribution/*"
    hub_update = next(s for s in hub_statements("ApplyFunction") if s.get("Sid") == "UpdateDistributions")
    assert update[0]["Condition"] == hub_update["Condition"]  # the scoping tag holds in every account
    # The read role changes nothing.
    assert not any(a.startswith("cloudfront:") and not a.startswith(("cloudfront:Get", "cloudfront:List"))
                   for a in role_actions(read))


@pytest.mark.parametrize(("role", "functions"), [
    ("ReadRole", ["EvaluateFunction", "SweepFunction"]),
    ("ApplyRole", ["ApplyFunction"]),
])
def test_member_roles_trust_only_the_hub_functions_with_the_external_id(member: dict, hub: dict, role: str,
                                                                       functions: list[str]) -> None:
    statement, *optional = member["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if role == "ReadRole":  # and, only when ScannerPrincipalArn is given, that principal with the external id
        assert optional == [{"Fn::If": ["HasScanner", {
            "Sid": "Scanner", "Effect": "Allow", "Principal": {"AWS": {"Ref": "ScannerPrincipalArn"}},
            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}},
            {"Ref": "AWS::NoValue"}]}]
    else:
        assert optional == []
    assert statement["Action"] == "sts:AssumeRole"
    assert sub(statement["Principal"]) == {"AWS": f"arn:aws:iam::{HUB}:root"}
    assert statement["Condition"]["StringEquals"] == {"sts:ExternalId": {"Ref": "ExternalId"}}
    principals = sub(statement["Condition"]["ArnLike"]["aws:PrincipalArn"])
    principals = [principals] if isinstance(principals, str) else principals
    # SAM names each function's role <stack>-<Function>Role-<suffix>; those functions exist in the hub.
    assert principals == [f"arn:aws:iam::{HUB}:role/edgemedic-{name}Role-*" for name in functions]
    assert all(name in hub["Resources"] for name in functions)
    assert member["Resources"][role]["Condition"] == "IsUsEast1"
    assert member["Parameters"]["ExternalId"]["NoEcho"] is True


def member_pattern(member: dict, rule: str) -> dict:
    return json.loads(json.dumps(sub(member["Resources"][rule]["Properties"]["EventPattern"])))


@pytest.mark.parametrize(("rule", "hub_event", "event_file"), [
    ("ForwardCloudFrontChanges", "CloudFrontChange", "cloudfront-update-distribution.json"),
    ("ForwardApiGatewayChanges", "ApiGatewayChange", "apigateway-put-method.json"),
])
def test_forwarding_rules_match_the_hubs_events_but_not_edgemedics_own(member: dict, hub: dict, rule: str,
                                                                      hub_event: str, event_file: str) -> None:
    forwarded = member_pattern(member, rule)
    central = pattern(hub, "EvaluateFunction", hub_event)
    assert forwarded["detail"]["eventName"] == central["detail"]["eventName"]
    assert forwarded["source"] == central["source"]
    compiled = EventPattern.load(json.dumps(forwarded))
    person = load_event(event_file)
    assert compiled.matches_event(person) is True
    own = load_event(event_file)
    own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = \
        f"arn:aws:iam::{MEMBER}:role/edgemedic-apply"
    assert compiled.matches_event(own) is False
    target = member["Resources"][rule]["Properties"]["Targets"][0]
    assert sub(target["Arn"]) == f"arn:aws:events:us-east-1:{HUB}:event-bus/edgemedic-organization"
    assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardingRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwardingDeadLetterQueue", "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_cloudfront_forwarding_only_in_us_east_1_api_gateway_in_every_region(member: dict) -> None:
    resources = member["Resources"]
    assert resources["ForwardCloudFrontChanges"]["Condition"] == "IsUsEast1"
    assert "Condition" not in resources["ForwardApiGatewayChanges"]
    assert member["Conditions"]["IsUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    forwarding = resources["ForwardingRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert [(s["Action"], sub(s["Resource"])) for s in forwarding] == [
        ("events:PutEvents", f"arn:aws:events:us-east-1:{HUB}:event-bus/edgemedic-organization")]


def test_hub_bus_admits_only_the_organization(hub: dict) -> None:
    resources = hub["Resources"]
    assert hub["Conditions"]["IsOrganization"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}
    assert hub["Parameters"]["OrganizationId"]["Default"] == ""
    bus = resources["OrganizationEventBus"]
    assert bus["Condition"] == "IsOrganization"
    assert bus["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-organization"}
    policy = resources["OrganizationEventBusPolicy"]
    assert policy["Condition"] == "IsOrganization"
    assert policy["Properties"]["Statement"] == {
        "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["OrganizationEventBus", "Arn"]},
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}}
    assert hub["Rules"]["OrganizationNeedsExternalId"]["RuleCondition"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}


@pytest.mark.parametrize(("function", "role_parameter", "extra"), [
    ("EvaluateFunction", "MemberReadRoleName", []),
    ("SweepFunction", "MemberReadRoleName", ["organizations:ListAccounts"]),
    ("ApplyFunction", "MemberApplyRoleName", []),
])
def test_hub_functions_may_assume_only_their_member_role_in_the_organization(hub: dict, function: str,
                                                                             role_parameter: str,
                                                                             extra: list[str]) -> None:
    raw = [s for p in hub["Resources"][function]["Properties"]["Policies"] for s in p["Statement"]]
    conditional = [s["Fn::If"] for s in raw if "Fn::If" in s and s["Fn::If"][0] == "IsOrganization"]
    assert all(otherwise == {"Ref": "AWS::NoValue"} for _, _, otherwise in conditional)
    statements = [statement for _, statement, _ in conditional]
    assert [s["Action"] for s in statements] == [["sts:AssumeRole"]] + [[action] for action in extra]
    assume = statements[0]
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${" + role_parameter + "}"}
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    # Without OrganizationId none of it is granted; the approve function never has it.
    unconditional = json.dumps([s for s in raw if "Fn::If" not in s])
    assert "sts:AssumeRole" not in unconditional and "organizations:" not in unconditional
    assert "sts:AssumeRole" not in json.dumps(hub["Resources"]["ApproveFunction"]["Properties"]["Policies"])


def test_member_accounts_are_swept_one_message_each_with_bounded_concurrency(hub: dict) -> None:
    sweep = hub["Resources"]["SweepFunction"]["Properties"]
    event = sweep["Events"]["AccountSweeps"]
    assert event == {"Type": "SQS", "Properties": {
        "Queue": {"Fn::GetAtt": ["SweepQueue", "Arn"]}, "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "SweepConcurrency"}}}}
    queue = hub["Resources"]["SweepQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * sweep["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 3}
    assert sweep["Environment"]["Variables"]["SWEEP_QUEUE_URL"] == {"Ref": "SweepQueue"}
    assert hub["Parameters"]["SweepConcurrency"]["MinValue"] == 2  # Lambda's minimum for MaximumConcurrency


@pytest.mark.parametrize(("rule", "hub_event"), [
    ("OrganizationCloudFrontChanges", "CloudFrontChange"),
    ("OrganizationApiGatewayChanges", "ApiGatewayChange"),
])
def test_organization_bus_rules_use_the_hubs_own_patterns(hub: dict, rule: str, hub_event: str) -> None:
    resource = hub["Resources"][rule]
    assert resource["Condition"] == "IsOrganization"
    props = resource["Properties"]
    assert props["EventBusName"] == {"Ref": "OrganizationEventBus"}
    assert props["EventPattern"] == hub["Resources"]["EvaluateFunction"]["Properties"]["Events"][hub_event][
        "Properties"]["Pattern"]
    [target] = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["EvaluateFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    permission = hub["Resources"][f"{rule}Permission"]
    assert permission["Condition"] == "IsOrganization"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule, "Arn"]}
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"


def test_functions_get_the_organization_settings(hub: dict) -> None:
    env = hub["Globals"]["Function"]["Environment"]["Variables"]
    assert {k: env[k] for k in ("HUB_ACCOUNT_ID", "PARTITION", "ORGANIZATION_ID", "EXTERNAL_ID", "MEMBER_READ_ROLE",
                                "MEMBER_APPLY_ROLE")} == {
        "HUB_ACCOUNT_ID": {"Ref": "AWS::AccountId"}, "PARTITION": {"Ref": "AWS::Partition"},
        "ORGANIZATION_ID": {"Ref": "OrganizationId"}, "EXTERNAL_ID": {"Ref": "ExternalId"},
        "MEMBER_READ_ROLE": {"Ref": "MemberReadRoleName"}, "MEMBER_APPLY_ROLE": {"Ref": "MemberApplyRoleName"}}


def test_member_role_names_match_the_hub_defaults(member: dict, hub: dict) -> None:
    assert member["Parameters"]["ReadRoleName"]["Default"] == hub["Parameters"]["MemberReadRoleName"]["Default"]
    assert member["Parameters"]["ApplyRoleName"]["Default"] == hub["Parameters"]["MemberApplyRoleName"]["Default"]


def test_sam_validate_lint_member_template() -> None:
    result = run_sam("validate", "--lint", "--template", "templates/org-member.yaml", "--region", "us-east-1",
                     cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.mark.parametrize("role", ["ReadRole", "ApplyRole"])
def test_member_api_gateway_reads_reach_apis_and_domains_only(member: dict, role: str) -> None:
    """As in the hub: never /apikeys (GET /apikeys?includeValues=true returns the keys themselves) or usage plans."""
    statements = [s for p in member["Resources"][role]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"] if "apigateway:GET" in s.get("Action", [])]
    assert [s["Action"] for s in statements] == [["apigateway:GET"]]
    assert sub(statements[0]["Resource"]) == [f"arn:aws:apigateway:*::/{path}*"
                                              for path in ("restapis", "apis", "domainnames")]
