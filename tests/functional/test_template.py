"""template.yaml: least-privilege IAM that matches what each function's code declares (Cloud Custodian style),
EventBridge patterns that match the events/ files (checked with moto's EventBridge pattern engine), the
loop guard, DLQs and retries, alarms, and the real `sam validate --lint` and `sam build`.

The SAM CLI lives in its own virtualenv (.venv-sam, made by dev.py): it pins boto3/pydantic versions that
conflict with moto's and the layer's.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from moto.events.models import EventPattern

from edgemedic.handlers.events import APIGATEWAY_EVENTS, CLOUDFRONT_EVENTS

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
APPLY_ROLE = "arn:aws:iam::111122223333:role/edgemedic-ApplyFunctionRole-EXAMPLE"
FUNCTIONS = {"EvaluateFunction": "evaluate", "SweepFunction": "sweep", "ApplyFunction": "apply",
             "ApproveFunction": "approve"}
SECRET_PATTERN = "^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+)?$"
# EventBridge's default quota on the size of one event pattern (characters).
PATTERN_LIMIT = 2048


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) read into their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    name = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_cfn_yaml(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - SafeLoader plus the CloudFormation tags


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cfn_yaml(str(ROOT / "template.yaml"))


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def function_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"edgemedic_function_{name}", ROOT / "functions" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def statements(function: dict) -> list[dict]:
    """Every statement, with a conditional one (``!If [cond, statement, AWS::NoValue]``) as when its condition
    holds: what the function may do with every optional parameter set."""
    found = []
    for policy in function["Properties"]["Policies"]:
        for statement in policy["Statement"]:
            if set(statement) == {"Fn::If"}:
                _, statement, otherwise = statement["Fn::If"]
                assert otherwise == {"Ref": "AWS::NoValue"}
            assert statement["Effect"] == "Allow"
            found.append(statement)
    return found


def granted(function: dict) -> list[str]:
    actions: list[str] = []
    for statement in statements(function):
        action = statement["Action"]
        actions.extend([action] if isinstance(action, str) else action)
    return actions


def resolve(value: Any) -> Any:
    """The pattern as EventBridge would see it, with the apply role's ARN in place of its GetAtt."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            assert value["Fn::GetAtt"] in (["ApplyFunctionRole", "Arn"], "ApplyFunctionRole.Arn")
            return APPLY_ROLE
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def pattern(template: dict, function: str, event: str) -> dict:
    props = template["Resources"][function]["Properties"]["Events"][event]["Properties"]
    return json.loads(json.dumps(resolve(props["Pattern"])))


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


# --------------------------------------------------------------------------------------------- IAM


@pytest.mark.parametrize(("logical_id", "name"), sorted(FUNCTIONS.items()))
def test_each_function_is_granted_exactly_what_its_code_declares(template: dict, logical_id: str, name: str) -> None:
    declared = function_module(name).IAM_ACTIONS
    actions = granted(template["Resources"][logical_id])
    assert len(actions) == len(set(actions)), "an action is granted twice"
    assert sorted(actions) == sorted(declared)


def test_only_the_apply_function_may_update_distributions(template: dict) -> None:
    writers = {name for name, fn in resources(template, "AWS::Serverless::Function").items()
               if any(a.startswith("cloudfront:") and not a.startswith(("cloudfront:Get", "cloudfront:List"))
                      for a in granted(fn))}
    assert writers == {"ApplyFunction"}
    update = next(s for s in statements(template["Resources"]["ApplyFunction"])
                  if s["Action"] == ["cloudfront:UpdateDistribution"])
    assert update["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"}


def test_table_queue_and_secret_permissions_are_scoped_to_their_resource(template: dict) -> None:
    for name, fn in resources(template, "AWS::Serverless::Function").items():
        for statement in statements(fn):
            actions = statement["Action"]
            if any(a.startswith("dynamodb:") for a in actions):
                assert statement["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}, name
            if any(a.startswith("sqs:") for a in actions):
                if name == "SweepFunction":  # it also fans member accounts out (tests/e2e/test_org_hub.py)
                    assert statement["Resource"] == [{"Fn::GetAtt": ["ApplyQueue", "Arn"]},
                                                     {"Fn::GetAtt": ["SweepQueue", "Arn"]}]
                else:
                    assert statement["Resource"] == {"Fn::GetAtt": ["ApplyQueue", "Arn"]}, name
            if any(a.startswith("secretsmanager:") for a in actions):
                assert actions == ["secretsmanager:GetSecretValue"], name
                if name == "ApproveFunction":  # deployed only with a Slack secret; needs nothing else
                    assert statement["Resource"] == {"Ref": "SlackSecretArn"}
                else:
                    assert statement["Resource"] == [
                        {"Fn::If": ["HasSlackSecret", {"Ref": "SlackSecretArn"}, {"Ref": "AWS::NoValue"}]},
                        {"Fn::If": ["HasTicketSecret", {"Ref": "TicketSecretArn"}, {"Ref": "AWS::NoValue"}]}]


def test_secret_grants_exist_only_when_an_arn_is_given(template: dict) -> None:
    conditions = template["Conditions"]
    assert conditions["HasSlackSecret"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "SlackSecretArn"}, ""]}]}
    assert conditions["HasTicketSecret"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TicketSecretArn"}, ""]}]}
    assert conditions["HasNotifySecret"] == {"Fn::Or": [{"Condition": "HasSlackSecret"},
                                                        {"Condition": "HasTicketSecret"}]}
    for name in ("EvaluateFunction", "SweepFunction", "ApplyFunction"):
        raw = template["Resources"][name]["Properties"]["Policies"][0]["Statement"]
        conditional = [s["Fn::If"] for s in raw
                       if "Fn::If" in s and s["Fn::If"][0] not in {"IsOrganization", "ExportToSecurityHub"}]
        assert [(c[0], c[1]["Sid"]) for c in conditional] == [("HasNotifySecret", "NotifySecrets")], name
        assert not any("secretsmanager:GetSecretValue" in s.get("Action", []) for s in raw if "Fn::If" not in s)
    for name in ("ApproveFunction", "ApproveErrorsAlarm"):
        assert template["Resources"][name]["Condition"] == "HasSlackSecret"
    assert template["Outputs"]["SlackInteractivityUrl"]["Condition"] == "HasSlackSecret"


def test_approval_endpoint_is_a_function_url_that_never_writes_to_cloudfront(template: dict) -> None:
    props = template["Resources"]["ApproveFunction"]["Properties"]
    assert props["FunctionUrlConfig"] == {"AuthType": "NONE"}  # Slack's signature is checked in the code
    assert props["CodeUri"] == "functions/approve"
    assert not any(a.startswith("cloudfront:") for a in granted(template["Resources"]["ApproveFunction"]))
    assert sorted(granted(template["Resources"]["ApproveFunction"])) == [
        "dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue", "sqs:SendMessage"]
    assert props["Environment"]["Variables"]["APPLY_QUEUE_URL"] == {"Ref": "ApplyQueue"}
    assert template["Outputs"]["SlackInteractivityUrl"]["Value"] == {
        "Fn::Sub": "${ApproveFunctionUrl.FunctionUrl}slack/actions"}


def test_slack_and_ticket_parameters(template: dict) -> None:
    params = template["Parameters"]
    assert params["ApprovalTtlHours"]["Default"] == 24 and params["ApprovalTtlHours"]["Type"] == "Number"
    assert params["TicketBackend"]["Default"] == "none"
    assert params["TicketBackend"]["AllowedValues"] == ["none", "github", "jira"]
    assert params["TicketTarget"]["Type"] == "String"
    for name in ("SlackSecretArn", "TicketSecretArn"):
        assert params[name]["AllowedPattern"] == SECRET_PATTERN
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {k: env[k] for k in ("APPROVAL_TTL_HOURS", "TICKET_BACKEND", "TICKET_TARGET", "SLACK_SECRET_ARN",
                                "TICKET_SECRET_ARN", "SLACK_APPROVERS")} == {
        "APPROVAL_TTL_HOURS": {"Ref": "ApprovalTtlHours"}, "TICKET_BACKEND": {"Ref": "TicketBackend"},
        "TICKET_TARGET": {"Ref": "TicketTarget"}, "SLACK_SECRET_ARN": {"Ref": "SlackSecretArn"},
        "TICKET_SECRET_ARN": {"Ref": "TicketSecretArn"}, "SLACK_APPROVERS": {"Ref": "SlackApprovers"}}
    rule = template["Rules"]["TicketsNeedTargetAndSecret"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TicketBackend"}, "none"]}]}
    assert [a["Assert"] for a in rule["Assertions"]] == [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "TicketTarget"}, ""]}]},
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "TicketSecretArn"}, ""]}]}]


# --------------------------------------------------------------------------------------------- shape


def test_functions_run_arm64_python311_with_json_logs_and_tracing(template: dict) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.11"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["Layers"] == [{"Ref": "EdgemedicLayer"}]
    layer = template["Resources"]["EdgemedicLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/edgemedic"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


def test_one_table_on_demand_with_pitr_and_ttl(template: dict) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    assert list(tables) == ["Table"]
    props = tables["Table"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]


def test_every_eventbridge_target_has_a_dlq_and_retry_policy(template: dict) -> None:
    seen = 0
    for fn in resources(template, "AWS::Serverless::Function").values():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] in {"EventBridgeRule", "Schedule"}:
                seen += 1
                props = event["Properties"]
                assert props["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}}
                assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert seen == 3


def test_dlq_policy_names_every_rule(template: dict) -> None:
    names = set()
    for fn in resources(template, "AWS::Serverless::Function").values():
        for event in fn["Properties"].get("Events", {}).values():
            props = event["Properties"]
            if "RuleName" in props or "Name" in props:
                names.add((props.get("RuleName") or props.get("Name"))["Fn::Sub"].split("}-", 1)[1])
    statement = template["Resources"]["EventsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    allowed = {arn["Fn::Sub"].rsplit("}-", 1)[1] for arn in arns if "Fn::Sub" in arn}
    assert allowed == names == {"cloudfront-changes", "apigateway-changes", "sweep"}
    # The organization bus's rules (tests/functional/test_org_template.py), only with OrganizationId.
    assert [arn["Fn::If"] for arn in arns if "Fn::If" in arn] == [
        ["IsOrganization", {"Fn::GetAtt": [rule, "Arn"]}, {"Ref": "AWS::NoValue"}]
        for rule in ("OrganizationCloudFrontChanges", "OrganizationApiGatewayChanges")]


def test_alarms_on_each_function_errors_and_each_dlq(template: dict) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    on_functions = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms
                    if a["Properties"]["MetricName"] == "Errors"}
    on_queues = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms
                 if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"}
    assert on_functions == set(FUNCTIONS)
    assert on_queues == {"EventsDeadLetterQueue", "ApplyDeadLetterQueue", "SweepDeadLetterQueue"}


def test_modes_are_strings_yaml_cannot_read_as_booleans(template: dict) -> None:
    params = template["Parameters"]
    assert params["ModeAutoFixes"]["Default"] == "auto"
    assert params["DryRun"]["Default"] == "true", "a console deploy never goes live by accident"
    for name in ("ModeAutoFixes", "ModeApproveFixes", "ModeManualFixes", "DryRun", "TicketBackend"):
        assert all(isinstance(v, str) for v in params[name]["AllowedValues"]), name
    for name in ("SlackSecretArn", "TicketSecretArn", "SlackApprovers", "SweepSchedule", "RuleModes"):
        assert params[name]["Type"] == "String"


# --------------------------------------------------------------------------------------------- patterns


def test_pattern_event_names_are_the_ones_the_code_handles(template: dict) -> None:
    cloudfront = pattern(template, "EvaluateFunction", "CloudFrontChange")["detail"]["eventName"]
    assert cloudfront == [{"prefix": name} for name in CLOUDFRONT_EVENTS]
    apigateway = pattern(template, "EvaluateFunction", "ApiGatewayChange")["detail"]["eventName"]
    assert apigateway == list(APIGATEWAY_EVENTS)


@pytest.mark.parametrize("event", ["CloudFrontChange", "ApiGatewayChange"])
def test_patterns_fit_eventbridge_size_quota(template: dict, event: str) -> None:
    # A role ARN with a long stack name: the GetAtt is the only part that grows.
    compact = json.dumps(pattern(template, "EvaluateFunction", event), separators=(",", ":"))
    assert len(compact) + 64 < PATTERN_LIMIT


@pytest.mark.parametrize(
    ("name", "rule", "matches"),
    [
        ("cloudfront-update-distribution.json", "CloudFrontChange", True),
        ("cloudfront-update-distribution-versioned-name.json", "CloudFrontChange", True),
        ("cloudfront-create-distribution.json", "CloudFrontChange", True),
        ("cloudfront-update-cache-policy.json", "CloudFrontChange", True),
        ("cloudfront-update-distribution-own-role.json", "CloudFrontChange", False),
        ("apigateway-put-method.json", "ApiGatewayChange", True),
        ("apigateway-delete-resource.json", "ApiGatewayChange", True),
        ("apigateway-update-rest-api.json", "ApiGatewayChange", True),
        ("apigateway-create-base-path-mapping.json", "ApiGatewayChange", True),
        # IAM users have no sessionIssuer: the loop guard's "exists: false" branch lets them through.
        ("apigatewayv2-update-route.json", "ApiGatewayChange", True),
        ("apigatewayv2-create-stage.json", "ApiGatewayChange", True),
        ("apigatewayv2-update-api.json", "ApiGatewayChange", True),
        ("apigateway-put-method.json", "CloudFrontChange", False),
        ("cloudfront-update-distribution.json", "ApiGatewayChange", False),
    ],
)
def test_rule_patterns_against_event_files(template: dict, name: str, rule: str, matches: bool) -> None:
    compiled = EventPattern.load(json.dumps(pattern(template, "EvaluateFunction", rule)))
    assert compiled.matches_event(load_event(name)) is matches


def test_failed_calls_and_reads_do_not_match(template: dict) -> None:
    compiled = EventPattern.load(json.dumps(pattern(template, "EvaluateFunction", "CloudFrontChange")))
    failed = load_event("cloudfront-update-distribution.json")
    failed["detail"]["errorCode"] = "PreconditionFailed"
    assert compiled.matches_event(failed) is False
    read = load_event("cloudfront-update-distribution.json")
    read["detail"]["eventName"] = "GetDistributionConfig"
    assert compiled.matches_event(read) is False


def test_region_forwarder_forwards_the_same_api_gateway_events(template: dict) -> None:
    forwarder = load_cfn_yaml(str(ROOT / "templates" / "region-forwarder.yaml"))
    rule = resources(forwarder, "AWS::Events::Rule")["ForwardApiGatewayChanges"]["Properties"]
    central = pattern(template, "EvaluateFunction", "ApiGatewayChange")
    forwarded = rule["EventPattern"]
    assert forwarded["detail"]["eventName"] == central["detail"]["eventName"]
    assert forwarded["source"] == ["aws.apigateway"]
    target = rule["Targets"][0]
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:events:us-east-1:${AWS::AccountId}:event-bus/default"}
    assert "DeadLetterConfig" in target and "RetryPolicy" in target


def _referenced(node: Any) -> set[str]:
    """Names a template refers to: Ref, Fn::Sub variables, conditions and Fn::FindInMap."""
    import re

    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"Ref", "Condition"} and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
            found |= _referenced(value)
    elif isinstance(node, list):
        for value in node:
            found |= _referenced(value)
    return found


@pytest.mark.parametrize("path", ["template.yaml", *sorted(str(p.relative_to(ROOT))
                                                           for p in (ROOT / "templates").glob("*.yaml"))])
def test_every_template_parameter_is_used(path: str) -> None:
    """A parameter nothing reads misleads whoever deploys the stack (the forwarder had one, "kept for symmetry")."""
    document = load_cfn_yaml(str(ROOT / path))
    used = _referenced({k: v for k, v in document.items() if k != "Parameters"})
    assert sorted(set(document.get("Parameters", {})) - used) == []


# --------------------------------------------------------------------------------------------- the real SAM CLI


def sam_cli() -> str | None:
    for folder in (".venv-sam",):
        local = ROOT / folder / ("Scripts" if os.name == "nt" else "bin") / "sam"
        if local.exists():
            return str(local)
    return shutil.which("sam")


def run_sam(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    sam = sam_cli()
    if sam is None:
        if os.environ.get("CI"):
            pytest.fail("the sam CLI is missing in CI: dev.py should have created .venv-sam")
        pytest.skip("the sam CLI is not installed (python3 dev.py test creates .venv-sam with aws-sam-cli)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run([sam, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_sam_validate_lint() -> None:
    result = run_sam("validate", "--lint", "--template", "template.yaml", "--region", "us-east-1", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.mark.slow
def test_sam_build_without_docker(tmp_path: Path) -> None:
    """The layer builds for arm64 python3.11 on this machine (no container), compiled to bytecode.

    Lambda's /opt is read-only: a layer without .pyc files compiles every module on every cold start (measured:
    742 ms median cold import of evaluate without them, 341 ms with; benchmarks/README.md). The layer's Makefile
    (BuildMethod makefile) writes hash-based .pyc files that stay valid whatever timestamps the zip gives.
    """
    if shutil.which("make") is None:
        pytest.skip("make is not installed: sam build runs the layer's Makefile (install make to run this test)")
    result = run_sam("build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(tmp_path / "build"),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    layer = tmp_path / "build" / "EdgemedicLayer" / "python"
    assert (layer / "edgemedic" / "handlers" / "evaluate.py").exists()
    # wrapt (under the X-Ray SDK) is the layer's one compiled dependency: its arm64 build proves the cross-build.
    assert list((layer / "wrapt").glob("*aarch64-linux-gnu.so")), "the layer must carry arm64 wheels"
    assert not (layer / "pydantic").exists(), "the handlers read events with data classes: no pydantic in the layer"
    for module in ("edgemedic/handlers/evaluate.py", "botocore/client.py", "aws_lambda_powertools/logging/logger.py"):
        source = layer / module
        [compiled] = (source.parent / "__pycache__").glob(f"{source.stem}.cpython-311.pyc")
        flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{compiled.name}: hash-based, unchecked (PEP 552), not timestamp-based"
    for name in FUNCTIONS.values():
        assert (tmp_path / "build" / f"{name.capitalize()}Function" / "app.py").exists()


# --------------------------------------------------------------------------------------------- safety (issue #8)


def leading_keys(function: dict) -> dict[str, list[str]]:
    """DynamoDB action -> the partition-key patterns its statement allows (dynamodb:LeadingKeys)."""
    found: dict[str, list[str]] = {}
    for statement in statements(function):
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if not any(a.startswith("dynamodb:") for a in actions):
            continue
        keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for action in actions:
            found[action] = keys
    return found


def test_dynamodb_access_is_scoped_per_role_by_leading_key(template: dict) -> None:
    functions = template["Resources"]
    approve = leading_keys(functions["ApproveFunction"])
    assert approve == {"dynamodb:GetItem": ["PLAN#*"], "dynamodb:UpdateItem": ["PLAN#*"]}, \
        "the approve function records decisions on plans and cannot touch the audit log"
    for name in ("EvaluateFunction", "SweepFunction", "ApplyFunction"):
        keys = leading_keys(functions[name])
        assert "AUDIT#*" in keys["dynamodb:PutItem"], name
        for action in ("dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"):
            assert not any(k.startswith("AUDIT") or k == "*" for k in keys[action]), (name, action, "append-only")
    assert "idempotency#evaluate" in leading_keys(functions["EvaluateFunction"])["dynamodb:PutItem"]
    assert "idempotency#evaluate" not in leading_keys(functions["ApplyFunction"])["dynamodb:PutItem"]


def test_api_gateway_reads_reach_apis_and_domains_only(template: dict) -> None:
    expected = [{"Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:*::/{path}*"}
                for path in ("restapis", "apis", "domainnames")]
    for name in ("EvaluateFunction", "SweepFunction", "ApplyFunction"):
        [statement] = [s for s in statements(template["Resources"][name]) if "apigateway:GET" in s["Action"]]
        assert statement["Action"] == ["apigateway:GET"] and statement["Resource"] == expected, name


def test_update_distribution_is_conditioned_on_the_mode_tag(template: dict) -> None:
    update = next(s for s in statements(template["Resources"]["ApplyFunction"])
                  if s["Action"] == ["cloudfront:UpdateDistribution"])
    # CloudFront's distribution resource type takes aws:ResourceTag (see docs/deploy.md, "Scoping"); a negated
    # operator matches a distribution without the tag, so only off / notify are refused by IAM.
    assert update["Condition"] == {"StringNotEqualsIgnoreCase": {"aws:ResourceTag/edgemedic:mode": ["off", "notify"]}}


def test_safe_defaults_stop_and_retention(template: dict) -> None:
    params, resources = template["Parameters"], template["Resources"]
    assert params["DryRun"]["Default"] == "true"
    assert params["EmergencyStop"]["Default"] == "false"
    stop = resources["EmergencyStopParameter"]
    assert stop["Type"] == "AWS::SSM::Parameter" and stop["Properties"]["Value"] == {"Ref": "EmergencyStop"}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["EMERGENCY_STOP_PARAMETER"] == {"Ref": "EmergencyStopParameter"}
    assert env["AUDIT_RETENTION_DAYS"] == {"Ref": "AuditRetentionDays"}
    assert env["APPLY_ALLOW_LIST"] == {"Ref": "ApplyAllowList"}
    for name in ("EvaluateFunction", "SweepFunction", "ApplyFunction"):
        [read] = [s for s in statements(resources[name]) if s["Action"] == ["ssm:GetParameter"]]
        assert read["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:"
                                               "parameter${EmergencyStopParameter}"}, name
    assert resources["Table"]["Properties"]["DeletionProtectionEnabled"] is True
    assert resources["Table"]["DeletionPolicy"] == "Retain"
    assert params["AuditRetentionDays"]["Type"] == "Number"
    assert resources["ApproveFunction"]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "ApproveConcurrency"}
