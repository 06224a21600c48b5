"""The hub of an organization end to end on the emulator: a member account's CloudTrail change arrives (as on the
hub's organization bus, its ``account`` the member's), the evaluate function reads the member through its read
role, the apply function fixes it through its apply role, and every record names the account. A member whose role
is missing is read nowhere and acted on nowhere: one audit record says why.

moto keeps resources per account behind assumed roles; the emulator refuses AssumeRole for a missing role or a
wrong external id as AWS does (edgemedic.emulator).
"""
from __future__ import annotations

import dataclasses
import json
from typing import Iterator

import pytest
from test_approval_flow import allow_http, api_behavior, flow  # noqa: F401 - flow is a fixture

from edgemedic import local, policies, scenarios
from edgemedic.aws import Clients
from edgemedic.emulator import Emulator
from edgemedic.handlers import iam, runtime
from edgemedic.handlers.exceptions import ReadFailedError
from edgemedic.local import Stack, load_event
from edgemedic.local import load_function as function

HUB = "123456789012"  # moto's default account: where the stack's table and queue are
MEMBER = "444455556666"
ROLELESS = "777788889999"
EXTERNAL_ID = "edgemedic-hub-7f3a"
HUB_APPLY_ROLE = f"arn:aws:iam::{HUB}:role/edgemedic-ApplyFunctionRole-EXAMPLE"
ORG = {"ORGANIZATION_ID": "o-a1b2c3d4e5", "EXTERNAL_ID": EXTERNAL_ID, "HUB_ACCOUNT_ID": HUB, "PARTITION": "aws",
       "MEMBER_READ_ROLE": "edgemedic-read", "MEMBER_APPLY_ROLE": "edgemedic-apply"}


def member_role(clients: Clients, name: str, function_role: str) -> None:
    clients.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID},
                          "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{HUB}:role/edgemedic-{function_role}-*"}}}]}))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, Clients]]:
    for name, value in local.powertools_env("edgemedic-e2e").items():
        monkeypatch.setenv(name, value)
    with Emulator() as emu:
        stack = local.start(emu, table="edgemedic-org", environ=ORG, own_roles=(HUB_APPLY_ROLE,))
        member = emu.account_clients(MEMBER)
        member_role(member, "edgemedic-read", "EvaluateFunctionRole")
        member_role(member, "edgemedic-apply", "ApplyFunctionRole")
        yield stack, member
    runtime.reset()


def forward_host(member: Clients, dist_id: str) -> None:
    """A person in the member account makes the /api/* behavior forward Host."""
    cloudfront = member.cloudfront()
    current = cloudfront.get_distribution_config(Id=dist_id)
    config = current["DistributionConfig"]
    next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*")[
        "OriginRequestPolicyId"] = policies.ALL_VIEWER
    cloudfront.update_distribution(Id=dist_id, IfMatch=current["ETag"], DistributionConfig=config)


def member_event(account: str, dist_id: str, **detail_changes: object) -> dict:
    event = load_event("cloudfront-update-distribution.json", distribution=dist_id)
    event["account"] = event["detail"]["recipientAccountId"] = account
    event["detail"].update(detail_changes)
    return event


def orp(member: Clients, dist_id: str) -> str:
    config = member.cloudfront().get_distribution_config(Id=dist_id)["DistributionConfig"]
    return next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*")["OriginRequestPolicyId"]


def test_member_change_is_read_and_fixed_through_the_members_roles(hub: tuple[Stack, Clients]) -> None:
    stack, member = hub
    dist_id = scenarios.build(member, ["clean"])["clean"]
    forward_host(member, dist_id)
    before = stack.emu.calls.copy()

    result = stack.evaluate(member_event(MEMBER, dist_id))
    evaluate_calls = stack.emu.calls - before
    assert result["status"] == "evaluated" and result["account"] == MEMBER
    assert result["distributions"] == [{"distribution": dist_id, "actions": ["auto-fix-queued"],
                                        "findings": ["apigw-host-forwarded@/api/*"]}]
    [message] = stack.drain()
    assert (message["account"], message["distribution_id"], message["rules"]) == (
        MEMBER, dist_id, ["apigw-host-forwarded"])
    assert orp(member, dist_id) == policies.ALL_VIEWER_EXCEPT_HOST_HEADER  # fixed in the member account
    assert stack.clients.cloudfront().list_distributions()["DistributionList"]["Quantity"] == 0  # none in the hub

    records = sorted(stack.rt.store.audit_log(dist_id), key=lambda r: r["sk"])
    assert [(r["action"], r["result"], r["account"]) for r in records] == [
        ("auto-fix-queued", "decided", MEMBER), ("auto-fix", "applied", MEMBER)]
    assert [(f["rule"], f["account"]) for f in records[0]["findings"]] == [("apigw-host-forwarded", MEMBER)]
    # The hub's functions called STS and their own table/queue; the rest went through the member roles.
    assert evaluate_calls[("sts", "AssumeRole")] == 1 and stack.apply_calls[("sts", "AssumeRole")] == 1
    for calls, name in ((evaluate_calls, "evaluate"), (stack.apply_calls, "apply")):
        made = {iam.action_for(service, op) for service, op in calls}
        assert made <= set(function(name).IAM_ACTIONS), (name, made - set(function(name).IAM_ACTIONS))
    assert {iam.action_for(s, o) for s, o in stack.apply_calls if s == "cloudfront"} <= set(iam.MEMBER_APPLY_ACTIONS)
    assert {iam.action_for(s, o) for s, o in evaluate_calls if s == "cloudfront"} <= set(iam.MEMBER_READ_ACTIONS)


def test_member_without_the_role_is_recorded_retried_and_nothing_else(hub: tuple[Stack, Clients]) -> None:
    stack, _ = hub
    before = stack.emu.calls.copy()
    # Recorded, and raised so EventBridge retries the event and then keeps it in the DLQ (never lost).
    with pytest.raises(ReadFailedError) as failed:
        stack.evaluate(member_event(ROLELESS, "E2ROLELESS0001"))
    assert f"cannot assume arn:aws:iam::{ROLELESS}:role/edgemedic-read (AccessDenied" in str(failed.value)
    assert stack.queued() == 0
    [record] = stack.rt.store.audit_log(None)
    assert (record["result"], record["account"], record["action"]) == ("account-unreachable", ROLELESS, "none")
    made = stack.emu.calls - before
    assert not [op for service, op in made if service == "cloudfront"], "nothing read with the hub's own role"


def test_own_fix_coming_back_from_a_member_is_ignored(hub: tuple[Stack, Clients]) -> None:
    stack, _ = hub
    event = member_event(MEMBER, "E2OWNFIX00001")
    issuer = event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]
    issuer["arn"] = f"arn:aws:iam::{MEMBER}:role/edgemedic-apply"
    assert stack.evaluate(event)["status"] == "ignored"
    assert stack.queued() == 0


def test_security_hub_export_in_the_members_account(hub: tuple[Stack, Clients]) -> None:
    """With SECURITY_HUB_EXPORT, the finding is imported into the member's Security Hub through the member's read
    role, and resolved there (ARCHIVED, RESOLVED) once the apply function fixed it through the apply role."""
    stack, member = hub
    stack.rt.settings = dataclasses.replace(stack.rt.settings, security_hub_export=True)
    dist_id = scenarios.build(member, ["clean"])["clean"]
    forward_host(member, dist_id)
    assert stack.evaluate(member_event(MEMBER, dist_id))["status"] == "evaluated"
    securityhub = member.client("securityhub")
    [active] = securityhub.get_findings()["Findings"]
    assert (active["AwsAccountId"], active["RecordState"], active["GeneratorId"]) == (
        MEMBER, "ACTIVE", "edgemedic/apigw-host-forwarded")
    assert active["ProductArn"] == f"arn:aws:securityhub:us-east-1:{MEMBER}:product/{MEMBER}/default"
    assert stack.clients.client("securityhub").get_findings()["Findings"] == []  # nothing in the hub's account
    stack.drain()
    [resolved] = securityhub.get_findings()["Findings"]
    assert resolved["Id"] == active["Id"]
    assert (resolved["RecordState"], resolved["Workflow"]["Status"]) == ("ARCHIVED", "RESOLVED")


def test_hub_own_events_are_read_with_the_hubs_own_role(hub: tuple[Stack, Clients]) -> None:
    stack, _ = hub
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    result = stack.evaluate(member_event(HUB, dist_id))
    assert result["status"] == "evaluated" and "account" not in result
    assert stack.emu.calls[("sts", "AssumeRole")] == 0


def sweep_queue(stack: Stack, **settings: object) -> str:
    url = stack.clients.client("sqs").create_queue(QueueName="edgemedic-sweep")["QueueUrl"]
    stack.rt.settings = dataclasses.replace(stack.rt.settings, sweep_queue_url=url, **settings)
    return url


def account_messages(stack: Stack, url: str) -> list[dict]:
    """What Lambda's SQS poller would hand the sweep function: every message on the sweep queue, as records."""
    got = stack.clients.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "eventSource": "aws:sqs"} for m in got.get("Messages", [])]


def test_sweep_fans_out_one_message_per_member_and_each_is_swept_alone(hub: tuple[Stack, Clients]) -> None:
    stack, member = hub
    dist_id = scenarios.build(member, ["clean"])["clean"]
    forward_host(member, dist_id)
    url = sweep_queue(stack, sweep_accounts=(MEMBER, ROLELESS, HUB))

    swept = stack.sweep()
    assert swept["status"] == "swept" and swept["distributions"] == 0  # the hub's own account has none
    assert swept["accounts_queued"] == 2  # the hub's own account is swept inline, not queued
    records = account_messages(stack, url)
    assert sorted(json.loads(r["body"])["account"] for r in records) == [MEMBER, ROLELESS]

    answer = function("sweep").lambda_handler({"Records": records}, local.LambdaContext("edgemedic-sweep"))
    roleless = next(r["messageId"] for r in records if json.loads(r["body"])["account"] == ROLELESS)
    assert answer == {"batchItemFailures": [{"itemIdentifier": roleless}]}  # retried alone, then the DLQ

    [message] = stack.drain()
    assert (message["account"], message["distribution_id"], message["event_name"]) == (
        MEMBER, dist_id, "ScheduledSweep")
    assert orp(member, dist_id) == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    [run] = stack.rt.store._query(f"SWEEP#{MEMBER}")
    assert (run["distributions"], run["findings"]) == (1, 1)


def test_sweep_lists_the_organizations_active_accounts(hub: tuple[Stack, Clients]) -> None:
    stack, _ = hub
    org = stack.clients.client("organizations")
    org.create_organization(FeatureSet="ALL")
    created = [org.create_account(AccountName=n, Email=f"{n}@example.com")["CreateAccountStatus"]["AccountId"]
               for n in ("a", "b", "closed")]
    org.close_account(AccountId=created[2])
    url = sweep_queue(stack)
    assert stack.sweep()["accounts_queued"] == 2
    assert sorted(json.loads(r["body"])["account"] for r in account_messages(stack, url)) == sorted(created[:2])


def test_member_approval_is_applied_through_the_members_apply_role(flow) -> None:  # noqa: F811 - the fixture
    """An approve-class finding in a member: the plan keeps the account in its findings, the Slack message names
    it, and the approved plan is applied through the member's apply role."""
    flow.stack.rt.settings = dataclasses.replace(flow.stack.rt.settings, **{
        "organization_id": ORG["ORGANIZATION_ID"], "external_id": EXTERNAL_ID, "hub_account": HUB})
    member = flow.stack.emu.account_clients(MEMBER)
    member_role(member, "edgemedic-read", "EvaluateFunctionRole")
    member_role(member, "edgemedic-apply", "ApplyFunctionRole")
    dist_id = scenarios.build(member, ["clean"])["clean"]
    cloudfront = member.cloudfront()
    current = cloudfront.get_distribution_config(Id=dist_id)
    config = current["DistributionConfig"]
    allow_http(config)
    cloudfront.update_distribution(Id=dist_id, IfMatch=current["ETag"], DistributionConfig=config)

    result = flow.evaluate(member_event(MEMBER, dist_id))
    assert result["distributions"][0]["actions"] == ["approval-requested"]
    plan = flow.plan(dist_id)
    assert {f.account for f in plan.findings} == {MEMBER}
    [posted] = flow.slack_calls("/api/chat.postMessage")
    assert f"*Account*\n{MEMBER}" in [f["text"] for f in posted["blocks"][1]["fields"]]

    flow.click(plan.plan_id)
    flow.drain()
    assert flow.plan(dist_id, "applied").plan_id == plan.plan_id
    applied = member.cloudfront().get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert api_behavior(applied)["ViewerProtocolPolicy"] == "redirect-to-https"
    [record] = [r for r in flow.stack.rt.store.audit_log(dist_id) if r["action"] == "approved-fix"]
    assert (record["result"], record["account"]) == ("applied", MEMBER)
    flow.check_iam()
