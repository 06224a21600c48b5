"""The Lambda handlers end to end on the emulator (moto + CloudFront's ETags and If-Match): events from events/ go
through functions/evaluate/app.py; apply requests land on a real (moto) FIFO queue and are fed to
functions/apply/app.py as SQS events; the sweep runs functions/sweep/app.py. Powertools Logger/Metrics/Idempotency
are real; only X-Ray is off (POWERTOOLS_TRACE_DISABLED). The seed stories come from edgemedic.scenarios.
"""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from edgemedic import policies, scenarios
from edgemedic.handlers import iam
from edgemedic.local import Stack, load_event
from edgemedic.local import load_function as function

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
HUMAN = "arn:aws:iam::111122223333:role/Admin"


def api_behavior(config: dict, pattern: str = "/api/*") -> dict:
    return next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == pattern)


def forward_host(config: dict) -> None:
    api_behavior(config)["OriginRequestPolicyId"] = policies.ALL_VIEWER


def audit(stack: Stack, dist_id: str) -> list[dict]:
    return stack.rt.store.audit_log(dist_id)


# --------------------------------------------------------------------------------------------- self-healing


def test_human_update_forwarding_host_is_healed(stack: Stack) -> None:
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    calls_before = stack.emu.calls.copy()

    result = stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    evaluate_calls = stack.emu.calls - calls_before

    assert result["status"] == "evaluated"
    assert result["distributions"] == [{"distribution": dist_id, "actions": ["auto-fix-queued"],
                                        "findings": ["apigw-host-forwarded@/api/*"]}]
    assert stack.updates() == 0, "evaluate never writes to CloudFront"

    assert stack.drain() == [{"kind": "auto-fix", "distribution_id": dist_id,
                              "event_id": "5ab02562-0fc5-43d0-b7b6-90293example",
                              "event_name": "UpdateDistribution", "actor": HUMAN,
                              "event_time": "2024-02-02T19:26:01Z",
                              "session": "arn:aws:sts::111122223333:assumed-role/Admin/role-session-name",
                              "rules": ["apigw-host-forwarded"]}]
    assert api_behavior(stack.config(dist_id))["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert stack.updates() == 1
    records = sorted(audit(stack, dist_id), key=lambda r: r["sk"])
    assert [(r["event_id"], r["actor"], r["action"], r["result"]) for r in records] == [
        ("5ab02562-0fc5-43d0-b7b6-90293example", HUMAN, "auto-fix-queued", "decided"),
        ("5ab02562-0fc5-43d0-b7b6-90293example", HUMAN, "auto-fix", "applied"),
    ]
    assert [f["rule"] for f in records[0]["findings"]] == ["apigw-host-forwarded"]
    assert records[1]["plan"]["summary"] == [
        "/api/* origin request policy: AllViewer -> AllViewerExceptHostHeader"]
    assert stack.rt.store.open_findings(dist_id) == {}

    # Every AWS call each function made is one its template grants (IAM_ACTIONS, checked against the template).
    for calls, name in ((evaluate_calls, "evaluate"), (stack.apply_calls, "apply")):
        made = {iam.action_for(service, op) for service, op in calls}
        assert made <= set(function(name).IAM_ACTIONS), (name, made - set(function(name).IAM_ACTIONS))


def test_concurrent_edit_between_read_and_write_survives(stack: Stack) -> None:
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))

    edited = []

    def person_edits_first(params: Any, model: Any, **_: Any) -> None:
        # A person saves the console form after edgemedic read the config and before it writes.
        if model.name.startswith("UpdateDistribution") and not edited:
            edited.append(True)
            stack.emu.human_edit(dist_id, lambda c: c.update(Comment="catalog: edited by a person"))

    # before-parameter-build runs before the emulator checks If-Match: the person's save lands in between.
    stack.clients.cloudfront().meta.events.register("before-parameter-build.cloudfront", person_edits_first)
    stack.drain()

    config = stack.config(dist_id)
    assert edited == [True]
    assert config["Comment"] == "catalog: edited by a person"
    assert api_behavior(config)["OriginRequestPolicyId"] == policies.ALL_VIEWER_EXCEPT_HOST_HEADER
    applied = [r for r in audit(stack, dist_id) if r["action"] == "auto-fix"]
    assert [r["result"] for r in applied] == ["applied"]
    assert "attempts: 2" in applied[0]["detail"]


def test_duplicate_delivery_acts_once(stack: Stack) -> None:
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    event = load_event("cloudfront-update-distribution.json", distribution=dist_id)

    first = stack.evaluate(event)
    second = stack.evaluate(copy.deepcopy(event))  # EventBridge delivers at least once

    assert second == first
    assert stack.queued() == 1
    stack.drain()
    assert stack.updates() == 1
    assert [r["action"] for r in sorted(audit(stack, dist_id), key=lambda r: r["sk"])] == [
        "auto-fix-queued", "auto-fix"]


def test_own_update_event_does_nothing(stack: Stack) -> None:
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    calls_before = sum(stack.emu.calls.values())

    result = stack.evaluate(load_event("cloudfront-update-distribution-own-role.json", distribution=dist_id))
    calls_after = sum(stack.emu.calls.values())

    assert result == {"status": "ignored", "reason": "made by edgemedic's own role",
                      "event_id": "0c3c4e1a-8f7e-4a55-9d1b-3f0e2f4c9a10"}
    assert stack.items() == []
    assert stack.queued() == 0
    assert calls_after == calls_before, "not even a read"


def test_malformed_event_is_rejected_with_a_log_line_and_no_write(stack: Stack, capsys: pytest.CaptureFixture,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    result = stack.evaluate(load_event_raw("malformed-missing-detail-fields.json"))

    assert result["status"] == "rejected"
    assert "detail.eventID: Field required" in result["reason"]
    logged = capsys.readouterr().out + caplog.text
    assert "event rejected" in logged and "detail.eventID: Field required" in logged
    assert '"MalformedEvents"' in logged, "counted in the EMF metrics"
    assert stack.items() == []
    assert stack.queued() == 0


def load_event_raw(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


# --------------------------------------------------------------------------------------------- API Gateway changes


def _catalog_api(stack: Stack) -> str:
    apigw = stack.clients.apigateway("eu-west-1")
    return next(api["id"] for api in apigw.get_rest_apis()["items"] if api["name"] == "catalog-api")


def test_deleted_resource_reevaluates_the_distributions_in_front_through_the_index(stack: Stack) -> None:
    ids = scenarios.build(stack.clients, ["clean", "forbidden"])
    assert stack.sweep()["distributions"] == 2
    api_id = _catalog_api(stack)
    apigw = stack.clients.apigateway("eu-west-1")
    # A person deletes /api. API Gateway deletes its children with it; moto does not (and then fails to list the
    # orphans), so the children go first, as separate DeleteResource calls.
    under_api = [r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"].startswith("/api")]
    for resource in sorted(under_api, key=lambda r: -r["path"].count("/")):
        apigw.delete_resource(restApiId=api_id, resourceId=resource["id"])
    api_resource = next(r for r in under_api if r["path"] == "/api")
    calls_before = stack.emu.calls.copy()

    result = stack.evaluate(load_event("apigateway-delete-resource.json", restApiId=api_id,
                                       resourceId=api_resource["id"]))

    assert [d["distribution"] for d in result["distributions"]] == [ids["clean"]], "only the one in front"
    assert result["distributions"][0]["findings"] == ["apigw-path-unroutable@/api/*"]
    listed = (stack.emu.calls - calls_before)[("cloudfront", "ListDistributions2020_05_31")]
    assert listed == 0, "the index answered; no full listing"
    record = next(r for r in audit(stack, ids["clean"]) if r["event_id"] == "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d")
    assert record["actor"] == HUMAN and record["event_name"] == "DeleteResource"


def test_disabled_execute_api_endpoint_found_by_full_scan_when_the_index_is_empty(stack: Stack) -> None:
    ids = scenarios.build(stack.clients, ["clean"])
    api_id = _catalog_api(stack)
    stack.clients.apigateway("eu-west-1").update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "True"}])

    result = stack.evaluate(load_event("apigateway-update-rest-api.json", restApiId=api_id))

    assert [d["distribution"] for d in result["distributions"]] == [ids["clean"]]
    assert result["distributions"][0]["findings"] == ["apigw-default-endpoint-disabled@"]
    told = [payload for kind, payload in stack.notifier.sent if kind == "notify"]
    assert told == [(ids["clean"], ("apigw-default-endpoint-disabled",))]
    assert stack.updates() == 0


# --------------------------------------------------------------------------------------------- edge functions

STRIP = "arn:aws:cloudfront::123456789012:function/strip-api-prefix"


def add_viewer_request_function(config: dict) -> None:
    """A person puts a CloudFront Function in front of /api/* (one that strips a prefix, say) and forwards Host."""
    forward_host(config)
    api_behavior(config)["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": STRIP, "EventType": "viewer-request"}]}


def test_edge_function_warnings_reach_the_evaluate_result_and_the_sweep_record(stack: Stack) -> None:
    """As the CLI scan does: the rules that depend on what reaches the origin are silent on a behavior with an
    edge function, and the handlers say so instead of staying silent (the function answers for itself)."""
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, add_viewer_request_function)

    result = stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))

    [outcome] = result["distributions"]
    assert outcome["findings"] == [] and outcome["actions"] == []
    [warning] = outcome["warnings"]
    assert warning.startswith(f"distribution {dist_id}, behavior /api/* (API origin ")
    assert "runs CloudFront Function strip-api-prefix (viewer-request) before the origin" in warning
    assert "apigw-host-forwarded" in warning

    stack.sweep()
    sweeps = stack.clients.client("dynamodb").query(
        TableName=stack.table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "SWEEP"}})
    [record] = sweeps["Items"]
    assert warning in [w["S"] for w in record["warnings"]["L"]]
