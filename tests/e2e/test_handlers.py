"""The Lambda handlers end to end on the emulator (moto + CloudFront's ETags and If-Match): events from events/ go
through functions/evaluate/app.py; apply requests land on a real (moto) FIFO queue and are fed to
functions/apply/app.py as SQS events; the sweep runs functions/sweep/app.py. Powertools Logger/Metrics/Idempotency
are real; only X-Ray is off (POWERTOOLS_TRACE_DISABLED). The seed stories come from edgemedic.scenarios.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from edgemedic import policies, scenarios
from edgemedic.emulator import Emulator
from edgemedic.handlers import iam, runtime
from edgemedic.handlers.act import LoggingNotifier

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TABLE = "edgemedic-e2e"
HUMAN = "arn:aws:iam::111122223333:role/Admin"
APPLY_ROLE = "arn:aws:iam::111122223333:role/edgemedic-ApplyFunctionRole-EXAMPLE"
POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": "edgemedic-e2e",
    "POWERTOOLS_METRICS_NAMESPACE": "edgemedic",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}
_MODULES: dict[str, ModuleType] = {}


def function(name: str) -> ModuleType:
    """functions/<name>/app.py, imported once (as Lambda does per execution environment)."""
    if name not in _MODULES:
        spec = importlib.util.spec_from_file_location(f"edgemedic_fn_{name}", ROOT / "functions" / name / "app.py")
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        _MODULES[name] = module
    return _MODULES[name]


@dataclass
class LambdaContext:
    function_name: str = "edgemedic-evaluate"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111122223333:function:edgemedic-evaluate"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def load_event(name: str, **ids: str) -> dict:
    """An events/ file with the ids of the resources this test made (the rest is the real-shaped record)."""
    event = json.loads((EVENTS / name).read_text())
    detail = event["detail"]
    request = detail.get("requestParameters") or {}
    if "distribution" in ids:
        request["id"] = ids["distribution"]
        if isinstance((detail.get("responseElements") or {}).get("distribution"), dict):
            detail["responseElements"]["distribution"]["id"] = ids["distribution"]
    for key in ("restApiId", "resourceId", "apiId", "domainName"):
        if key in ids:
            request[key] = ids[key]
    if "region" in ids:
        detail["awsRegion"] = event["region"] = ids["region"]
    return event


@dataclass
class Stack:
    emu: Emulator
    clients: Any
    rt: runtime.Runtime
    queue_url: str
    notifier: LoggingNotifier
    apply_calls: Counter = field(default_factory=Counter)  # AWS calls made inside the apply function

    def evaluate(self, event: Any) -> dict:
        return function("evaluate").lambda_handler(event, LambdaContext())

    def sweep(self) -> dict:
        event = json.loads(json.dumps({"version": "0", "id": "5f2c0d1e-sweep", "detail-type": "Scheduled Event",
                                       "source": "aws.events", "account": "111122223333",
                                       "time": "2024-03-05T12:00:00Z", "region": "us-east-1",
                                       "resources": [], "detail": {}}))
        return function("sweep").lambda_handler(event, LambdaContext("edgemedic-sweep"))

    def drain(self) -> list[dict]:
        """Deliver every queued apply request to the apply function, as Lambda's SQS poller would."""
        sqs = self.clients.client("sqs")
        results = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1, AttributeNames=["All"],
                                      MessageAttributeNames=["All"])
            messages = got.get("Messages", [])
            if not messages:
                return results
            message = messages[0]
            record = {
                "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"], "attributes": message["Attributes"], "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:edgemedic-apply.fifo",
                "awsRegion": "us-east-1",
            }
            before = self.emu.calls.copy()
            response = function("apply").lambda_handler({"Records": [record]}, LambdaContext("edgemedic-apply"))
            self.apply_calls += self.emu.calls - before
            assert response == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            results.append(json.loads(message["Body"]))

    def queued(self) -> int:
        attrs = self.clients.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def items(self) -> list[dict]:
        return self.clients.client("dynamodb").scan(TableName=TABLE)["Items"]

    def config(self, dist_id: str) -> dict:
        return self.clients.cloudfront().get_distribution_config(Id=dist_id)["DistributionConfig"]

    def updates(self) -> int:
        return sum(n for (service, op), n in self.emu.calls.items()
                   if service == "cloudfront" and op.startswith("UpdateDistribution"))


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in POWERTOOLS_ENV.items():
        monkeypatch.setenv(name, value)
    with Emulator() as emu:
        clients = emu.clients()
        clients.client("dynamodb").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        queue_url = clients.client("sqs").create_queue(
            QueueName="edgemedic-apply.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        environ = {"TABLE_NAME": TABLE, "APPLY_QUEUE_URL": queue_url, "OWN_ROLE_ARNS": APPLY_ROLE,
                   "API_REGIONS": "us-east-1,eu-west-1"}
        notifier = LoggingNotifier()
        rt = runtime.configure(clients=clients, environ=environ, notifier=notifier)
        yield Stack(emu, clients, rt, queue_url, notifier)
    runtime.reset()


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

    assert stack.drain() == [{"distribution_id": dist_id, "event_id": "5ab02562-0fc5-43d0-b7b6-90293example",
                              "event_name": "UpdateDistribution", "actor": HUMAN,
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
