"""The deployed app under faults, bad input and hostile callers (issue #8, "What was seen" 1-6), end to end through
functions/*/app.py on the emulator. Faults are injected where botocore would hand them to edgemedic: a
``before-call`` handler on the client answers with the error AWS would send after botocore's retries.
"""
from __future__ import annotations

import base64
import logging
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from builders import fail, heal

from edgemedic import local, policies, scenarios
from edgemedic.emulator import Emulator
from edgemedic.handlers.exceptions import ReadFailedError, SettingsError, StoreWriteError
from edgemedic.local import LambdaContext, Stack, load_event

TABLE = "edgemedic-e2e"  # the conftest's stack
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def deliver(stack: Stack) -> list[dict]:
    """Hand each queued apply message to the apply function once, as Lambda's SQS poller would; a message the
    function reports as failed is left on the queue (made visible again). Returns the function's answers."""
    sqs = stack.clients.client("sqs")
    answers = []
    got = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=1, AttributeNames=["All"])
    for message in got.get("Messages", []):
        record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                  "body": message["Body"], "attributes": message["Attributes"], "messageAttributes": {},
                  "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                  "eventSourceARN": f"arn:aws:sqs:us-east-1:{local.ACCOUNT}:{local.APPLY_QUEUE}",
                  "awsRegion": "us-east-1"}
        try:
            answer = stack.function("apply").lambda_handler({"Records": [record]}, LambdaContext("edgemedic-apply"))
        except BatchProcessingError:  # every record of the batch failed: Lambda retries the whole batch
            answer = {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        answers.append(answer)
        if answer["batchItemFailures"]:
            sqs.change_message_visibility(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                          VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return answers


def forward_host(config: dict) -> None:
    next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*")[
        "OriginRequestPolicyId"] = policies.ALL_VIEWER


def catalog_api(stack: Stack) -> str:
    apigw = stack.clients.apigateway("eu-west-1")
    return next(api["id"] for api in apigw.get_rest_apis()["items"] if api["name"] == "catalog-api")


def unroutable(stack: Stack) -> tuple[str, str]:
    """The clean story with /api deleted from its API: the sweep stores apigw-path-unroutable, with a ticket."""
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    api_id = catalog_api(stack)
    apigw = stack.clients.apigateway("eu-west-1")
    under = [r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"].startswith("/api")]
    for resource in sorted(under, key=lambda r: -r["path"].count("/")):
        apigw.delete_resource(restApiId=api_id, resourceId=resource["id"])
    stack.sweep()
    stored = stack.rt.store.open_findings(dist_id)
    assert [r["rule"] for r in stored.values()] == ["apigw-path-unroutable"]
    [(key, record)] = stored.items()
    # The finding's ticket, as the ticket backend would have recorded it.
    stack.rt.store.write_findings(dist_id, {key: {**record, "ticket": "https://github.com/acme/ops/issues/7"}},
                                  stored)
    return dist_id, api_id


def kept(stack: Stack, dist_id: str) -> dict:
    return {k: {f: v for f, v in r.items() if f not in {"seen", "unverified", "unverified_reason"}}
            for k, r in stack.rt.store.open_findings(dist_id).items()}


def results(stack: Stack, dist_id: str | None) -> list[str]:
    return [r["result"] for r in stack.audit(dist_id)]


# --------------------------------------------------------------------------------------------- 1. read failures


def test_cloudfront_5xx_on_an_event_keeps_everything_and_the_event_is_retried(stack: Stack) -> None:
    dist_id, _ = unroutable(stack)
    before, index_before = kept(stack, dist_id), stack.rt.store.indexed_distributions()
    cloudfront = stack.clients.cloudfront()
    fail(cloudfront, "GetDistribution", "ServiceUnavailable", 503)

    with pytest.raises(ReadFailedError, match=f"{dist_id}.*ServiceUnavailable"):
        stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))

    assert kept(stack, dist_id) == before
    assert stack.rt.store.indexed_distributions() == index_before
    assert "distribution-gone" not in results(stack, dist_id)
    assert results(stack, dist_id)[-1] == "read-failed"
    assert ("resolved", (dist_id, ("apigw-path-unroutable",))) not in stack.notifier.sent

    heal(cloudfront, "GetDistribution")  # EventBridge/Lambda retry: the idempotency record was released
    answer = stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    assert answer["status"] == "evaluated"


def test_only_no_such_distribution_means_gone(stack: Stack) -> None:
    dist_id, _ = unroutable(stack)
    fail(stack.clients.cloudfront(), "GetDistribution", "NoSuchDistribution", 404)

    answer = stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))

    assert answer["status"] == "evaluated"
    assert results(stack, dist_id)[-1] == "distribution-gone"
    assert stack.rt.store.open_findings(dist_id) == {}


def queued_host_fix(stack: Stack) -> str:
    """A person's edit forwards Host; evaluate queued the auto fix. Returns the distribution id."""
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    return dist_id


def test_apply_does_not_consume_a_queued_fix_on_a_read_failure(stack: Stack) -> None:
    dist_id = queued_host_fix(stack)
    fail(stack.clients.cloudfront(), "GetDistribution", "InternalError", 500)

    [answer] = deliver(stack)

    assert len(answer["batchItemFailures"]) == 1, "left on the queue: retried, then the apply DLQ"
    assert "distribution-gone" not in results(stack, dist_id)
    record = stack.audit(dist_id)[-1]
    assert (record["action"], record["result"]) == ("auto-fix", "read-failed")
    assert "InternalError" in record["detail"]
    assert stack.updates() == 0
    assert stack.queued() == 1


def test_sweep_keeps_findings_and_index_when_a_config_read_fails(stack: Stack) -> None:
    dist_id, _ = unroutable(stack)
    before = kept(stack, dist_id)
    fail(stack.clients.cloudfront(), "GetDistributionConfig", "InternalError", 500)

    with pytest.raises(ReadFailedError, match=dist_id):
        stack.sweep()

    assert kept(stack, dist_id) == before
    assert dist_id in stack.rt.store.indexed_distributions()
    assert ("resolved", (dist_id, ("apigw-path-unroutable",))) not in stack.notifier.sent


@pytest.mark.parametrize(("code", "status"), [("AccessDeniedException", 403), ("InternalServerError", 500)])
def test_an_api_read_failure_keeps_its_findings_unverified_and_their_tickets_open(stack: Stack, code: str,
                                                                                  status: int) -> None:
    dist_id, api_id = unroutable(stack)
    before = kept(stack, dist_id)
    fail(stack.clients.apigateway("eu-west-1"), "GetResources", code, status)

    with pytest.raises(ReadFailedError, match=code):
        stack.sweep()

    assert kept(stack, dist_id) == before, "kept, with its ticket"
    [stored] = stack.rt.store.open_findings(dist_id).values()
    assert stored["unverified"] is True and code in stored["unverified_reason"]
    assert not [s for s in stack.notifier.sent if s[0] == "resolved"]
    assert "clean" not in results(stack, dist_id)
    assert ("alert", (dist_id, f"1 finding(s) on {dist_id} could not be re-checked and stay open, unverified: "
                               f"apigw-path-unroutable ({stored['unverified_reason']})")) in stack.notifier.sent

    with pytest.raises(ReadFailedError, match=code):  # an event on the API: retried, nothing changed
        stack.evaluate(load_event("apigateway-delete-resource.json", restApiId=api_id, resourceId="abc123"))
    assert kept(stack, dist_id) == before


def test_slack_is_told_when_findings_become_unverified(powertools: None) -> None:
    with Emulator() as emu, local.SlackStandIn() as slack:
        stack = local.start(emu, table=TABLE, slack=slack, api_regions=("us-east-1", "eu-west-1"))
        dist_id, _ = unroutable(stack)
        fail(stack.clients.apigateway("eu-west-1"), "GetResources", "InternalServerError", 500)
        with pytest.raises(ReadFailedError):
            stack.sweep()
        posted = [r.json() for r in slack.to("/api/chat.postMessage")]
        [warning] = [p for p in posted if "could not be re-checked" in p["text"]]
        assert warning["text"].startswith(f":warning: edgemedic, CloudFront {dist_id}: 1 finding(s)")
        assert "apigw-path-unroutable" in warning["blocks"][0]["text"]["text"]


# --------------------------------------------------------------------------------------------- 2. approve junk


@pytest.fixture
def slack_stack(powertools: None) -> Iterator[Stack]:
    with Emulator() as emu, local.SlackStandIn() as slack:
        yield local.start(emu, table=TABLE, slack=slack, approvers=("U024BE7LH",), signing_secret=SIGNING_SECRET)


@pytest.mark.parametrize("headers", [
    {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
    {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=00"},
    {"X-Slack-Request-Timestamp": "1.7e9", "X-Slack-Signature": "v0=00"},
    {"X-Slack-Request-Timestamp": "NOW", "X-Slack-Signature": "v0=ü€"},
    {"X-Slack-Signature": "v0=00"},
    {},
], ids=["letters", "empty", "float", "non-ascii-signature", "no-timestamp", "no-headers"])
def test_approve_answers_junk_with_4xx_and_never_raises(slack_stack: Stack, headers: dict,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    import time

    headers = {k: (str(int(time.time())) if v == "NOW" else v) for k, v in headers.items()}
    body = "payload=%7B%22secret-marker%22%3A1%7D"
    answer = slack_stack.function("approve").lambda_handler(local.function_url_event(body, headers),
                                                            LambdaContext.of("approve"))
    assert answer["statusCode"] in (400, 401)
    assert "secret-marker" not in caplog.text


def test_approve_answers_a_body_that_is_not_base64_with_400(slack_stack: Stack) -> None:
    import time

    event = local.function_url_event("ignored", {"X-Slack-Request-Timestamp": str(int(time.time())),
                                                 "X-Slack-Signature": "v0=00"})
    event.update(body="!!! not base64 ~~~", isBase64Encoded=True)
    answer = slack_stack.function("approve").lambda_handler(event, LambdaContext.of("approve"))
    assert answer["statusCode"] == 400


def test_approve_still_accepts_a_base64_body_slack_signed(slack_stack: Stack) -> None:
    import time

    body = "payload=%7B%22type%22%3A%22view_closed%22%7D"
    event = local.function_url_event(body, local.sign_slack_request(SIGNING_SECRET, body, time.time()))
    event.update(body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
    answer = slack_stack.function("approve").lambda_handler(event, LambdaContext.of("approve"))
    assert answer["statusCode"] == 200


# --------------------------------------------------------------------------------------------- 3. lost writes


class Unprocessing:
    """A DynamoDB client whose BatchWriteItem never processes anything (UnprocessedItems every time)."""

    def __init__(self, client: Any):
        self.client, self.batches = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, RequestItems: dict) -> dict:  # noqa: N803 - boto3's name
        self.batches += 1
        return {"UnprocessedItems": RequestItems}


def test_batch_write_backs_off_then_fails_instead_of_reporting_success(stack: Stack,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from edgemedic.handlers import store as store_module

    waits: list[float] = []
    monkeypatch.setattr(store_module.time, "sleep", waits.append)
    client = Unprocessing(stack.clients.client("dynamodb"))
    store = store_module.Store(client, TABLE)

    with pytest.raises(StoreWriteError, match="1 of 1 write"):
        store.write_findings("E2QWRUHAPOMQZL", {"r#/api/*#api": {"rule": "r", "behavior": "/api/*",
                                                                 "origin": "api"}}, {})

    assert client.batches == store_module.BATCH_ATTEMPTS
    assert len(waits) == store_module.BATCH_ATTEMPTS - 1
    assert len(set(waits)) > 1, "jittered"
    assert store.open_findings("E2QWRUHAPOMQZL") == {}


def test_audit_records_never_overwrite_each_other(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgemedic.handlers import store as store_module

    monkeypatch.setattr(store_module, "now_iso", lambda: "2026-12-01T10:00:00.000000Z")
    for result in ("first", "second"):
        stack.rt.store.audit(event_id="same-event", distribution_id="E2QWRUHAPOMQZL", action="none", result=result)
    assert sorted(r["result"] for r in stack.rt.store.audit_log("E2QWRUHAPOMQZL")) == ["first", "second"]


# --------------------------------------------------------------------------------------------- 4. audit trail


def test_a_failed_apply_is_audited_and_retried(stack: Stack) -> None:
    dist_id = queued_host_fix(stack)
    fail(stack.clients.cloudfront(), "UpdateDistribution", "AccessDenied", 403)

    [answer] = deliver(stack)

    assert len(answer["batchItemFailures"]) == 1
    record = stack.audit(dist_id)[-1]
    assert (record["action"], record["result"]) == ("auto-fix", "failed")
    assert "AccessError" in record["detail"] and record["config_hash_before"]
    assert record["actor"] == "arn:aws:iam::111122223333:role/Admin"
    assert ("alert", dist_id) in [(kind, payload[0]) for kind, payload in stack.notifier.sent]


def test_an_applied_fix_records_config_hashes_before_and_after(stack: Stack) -> None:
    from edgemedic.plan import config_hash

    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    before = config_hash(stack.config(dist_id))
    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    stack.drain()
    record = stack.audit(dist_id)[-1]
    assert record["result"] == "applied"
    assert (record["config_hash_before"], record["config_hash_after"]) == (before, config_hash(stack.config(dist_id)))


# --------------------------------------------------------------------------------------------- 5. loop guard


def test_a_function_without_its_own_role_refuses_to_act(powertools: None) -> None:
    with Emulator() as emu:
        stack = local.start(emu, table=TABLE, own_roles=())
        calls = sum(emu.calls.values())
        with pytest.raises(SettingsError, match="OWN_ROLE_ARNS"):
            stack.evaluate(load_event("cloudfront-update-distribution.json", distribution="E2QWRUHAPOMQZL"))
        assert sum(emu.calls.values()) == calls


# --------------------------------------------------------------------------------------------- 6. events


def _mutated(name: str, change: Any) -> dict:
    event = load_event(name, distribution="E2QWRUHAPOMQZL")
    change(event)
    return event


@pytest.mark.parametrize(("event", "reason"), [
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(readOnly=True)), "read-only"),
    (_mutated("apigateway-put-method.json", lambda e: e["detail"].update(eventName="GetMethod")), "read-only"),
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(errorCode="AccessDenied")),
     "AccessDenied"),
    (_mutated("cloudfront-update-distribution.json", lambda e: e.update(account="444455556666")), "444455556666"),
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(recipientAccountId="444455556666")),
     "444455556666"),
], ids=["readOnly", "apigateway-get", "failed-call", "other-account", "other-recipient"])
def test_events_that_change_nothing_here_are_dropped_in_code(stack: Stack, event: dict, reason: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    calls = sum(stack.emu.calls.values())
    answer = stack.evaluate(event)
    assert answer["status"] == "ignored" and reason in answer["reason"]
    assert reason in caplog.text
    assert sum(stack.emu.calls.values()) == calls
    assert stack.items() == []


@pytest.mark.parametrize(("event", "where"), [
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(eventID="e" * 2000)),
     "detail.eventID"),
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(awsRegion="us-east-1; rm")),
     "detail.awsRegion"),
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(eventName="Update\ud800")),
     "Unicode"),
    (_mutated("cloudfront-update-distribution.json",
              lambda e: e["detail"]["requestParameters"].update(id="E2QW/../../x")), "distribution id"),
    (_mutated("apigateway-put-method.json", lambda e: e["detail"]["requestParameters"].update(restApiId="a" * 900)),
     "API id"),
    # found by the fuzzer (benchmarks/README.md)
    (_mutated("cloudfront-update-cache-policy.json", lambda e: e["detail"]["requestParameters"].update(id=["x"])),
     "policy id"),
    (_mutated("cloudfront-update-distribution.json", lambda e: e["detail"].update(eventID="")), "detail.eventID"),
], ids=["long-event-id", "bad-region", "lone-surrogate", "bad-distribution-id", "long-api-id", "listed-policy-id",
        "empty-event-id"])
def test_malformed_events_are_rejected_not_retried(stack: Stack, event: dict, where: str) -> None:
    answer = stack.evaluate(event)
    assert answer["status"] == "rejected" and where in answer["reason"]
    assert stack.items() == []
    assert stack.queued() == 0


# --------------------------------------------------------------------------------------------- IAM by leading key


def _partition_keys(params: dict) -> list[str]:
    keys = [params.get("Key", {}).get("pk", {}).get("S"), params.get("Item", {}).get("pk", {}).get("S"),
            params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S")]
    for requests in params.get("RequestItems", {}).values():
        for request in requests:
            put, delete = request.get("PutRequest", {}), request.get("DeleteRequest", {})
            keys.append(put.get("Item", {}).get("pk", {}).get("S") or delete.get("Key", {}).get("pk", {}).get("S"))
    return [k for k in keys if k]


def test_every_table_key_a_function_touches_is_one_its_role_allows(stack: Stack) -> None:
    """The handlers on moto, each DynamoDB call checked against its role's dynamodb:LeadingKeys in template.yaml."""
    import fnmatch
    import importlib.util

    path = local.app_root() / "tests" / "functional" / "test_template.py"
    spec = importlib.util.spec_from_file_location("edgemedic_template_checks", path)
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    leading_keys = checks.leading_keys
    template = checks.load_cfn_yaml(str(local.app_root() / "template.yaml"))
    used: list[tuple[str, str, str]] = []
    running = ["evaluate"]

    def record(params: dict, model: Any, **_: Any) -> None:
        used.extend((running[0], f"dynamodb:{model.name}", key) for key in _partition_keys(params))

    stack.clients.client("dynamodb").meta.events.register("before-parameter-build.dynamodb", record)
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    running[0] = "apply"
    stack.drain()
    running[0] = "sweep"
    stack.sweep()

    allowed = {name: leading_keys(template["Resources"][f"{name.capitalize()}Function"])
               for name in ("evaluate", "apply", "sweep")}
    denied = [(fn, action, key) for fn, action, key in used
              if not any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed[fn].get(action, []))]
    assert {fn for fn, _, _ in used} == {"evaluate", "apply", "sweep"}
    assert denied == []


def test_every_decision_and_refusal_is_audited_by_the_apply_function(powertools: None) -> None:
    with Emulator() as emu, local.SlackStandIn() as slack:
        stack = local.start(emu, table=TABLE, slack=slack, approvers=("U024BE7LH",), signing_secret=SIGNING_SECRET,
                            environ={"MODE_AUTO_FIXES": "approve"})
        dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
        stack.emu.human_edit(dist_id, forward_host)
        stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
        [plan] = stack.rt.plans.plans_of(dist_id)

        def click(user: str, approve: bool) -> None:
            body = local.button_click(plan.plan_id, user_id=user, user_name=user, channel=slack.channel,
                                      message_ts="1706901961.000200", response_url=slack.response_url(user),
                                      approve=approve)
            assert stack.approve(body)["statusCode"] == 200

        click("U0MALLORY", approve=True)  # not an approver
        click("U024BE7LH", approve=False)  # rejected
        click("U024BE7LH", approve=True)  # too late: already rejected
        stack.drain()

        decisions = [(r["actor"], r["result"], r["plan_id"]) for r in stack.audit(dist_id) if r["action"] == "decision"]
        assert decisions == [("slack:U0MALLORY", "unknown-user", plan.plan_id),
                             ("slack:U024BE7LH", "rejected", plan.plan_id),
                             ("slack:U024BE7LH", "already-decided", plan.plan_id)]
        rejected = next(r for r in stack.audit(dist_id) if r["result"] == "rejected")
        assert rejected["detail"].startswith("decided at ") and rejected["config_hash_before"] == plan.config_hash


def test_an_expiry_found_by_the_sweep_is_audited(stack: Stack) -> None:
    import time

    from edgemedic import engine
    from edgemedic.collect import collect
    from edgemedic.findings import FixClass
    from edgemedic.notify.approval import propose
    from edgemedic.plan import build_plan

    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    stack.emu.human_edit(dist_id, forward_host)
    inv = collect(stack.clients, regions=("eu-west-1",), distribution_ids=[dist_id])
    [dist] = inv.distributions
    plan = build_plan(dist, engine.evaluate(dist, inv), classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))
    record = propose(plan, stack.rt.plans, None, now=time.time() - 2 * 86400, ttl_seconds=3600)

    stack.sweep()

    assert stack.rt.plans.get(record.plan_id).status == "expired"
    [expiry] = [r for r in stack.audit(dist_id) if r["action"] == "decision-expire"]
    assert (expiry["result"], expiry["plan_id"], expiry["actor"]) == ("expired", record.plan_id, "edgemedic-sweep")
    assert expiry["config_hash_before"] == plan.config_hash


@contextmanager
def proposed(edit: Any = None) -> Iterator[tuple[Stack, str, Any, str]]:
    """A stack with Slack where auto fixes need a person, and a plan proposed after a person's ``edit(stack,
    distribution id)`` (default: /api/* forwards Host). Yields (stack, distribution id, plan, the approver's click)."""
    with Emulator() as emu, local.SlackStandIn() as slack:
        stack = local.start(emu, table=TABLE, slack=slack, approvers=("U024BE7LH",), signing_secret=SIGNING_SECRET,
                            environ={"MODE_AUTO_FIXES": "approve"})
        dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
        (edit or (lambda st, d: st.emu.human_edit(d, forward_host)))(stack, dist_id)
        stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
        [plan] = stack.rt.plans.plans_of(dist_id)
        yield stack, dist_id, plan, local.button_click(
            plan.plan_id, user_id="U024BE7LH", user_name="alice", channel=slack.channel,
            message_ts="1706901961.000200", response_url=slack.response_url("U024BE7LH"))


# --------------------------------------------------------------------------------------------- review: records lost


def test_an_applied_fix_is_audited_even_when_storing_its_findings_fails(stack: Stack,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """CloudFront took the fix, then DynamoDB throttled the findings write: the message is retried, and its retry
    finds nothing to do. The change edgemedic made must still have its 'applied' audit record (written first)."""
    from edgemedic.handlers import store as store_module
    from edgemedic.plan import config_hash

    dist_id = queued_host_fix(stack)
    monkeypatch.setattr(store_module.time, "sleep", lambda _: None)
    real = stack.rt.store.client
    stack.rt.store.client = Unprocessing(real)

    [answer] = deliver(stack)

    assert len(answer["batchItemFailures"]) == 1, "the findings were not stored: retried"
    assert stack.updates() == 1
    stack.rt.store.client = real
    [again] = deliver(stack)
    assert again["batchItemFailures"] == []
    applied = [r for r in stack.audit(dist_id) if r["action"] == "auto-fix" and r["result"] == "applied"]
    assert len(applied) == 1, results(stack, dist_id)
    assert applied[0]["config_hash_after"] == config_hash(stack.config(dist_id))


@pytest.mark.parametrize("lost", ["request", "answer"])
def test_an_approval_the_apply_queue_did_not_take_can_be_clicked_again(powertools: None, lost: str) -> None:
    """SQS refused the approved plan (or took it and its answer was lost): Slack is answered with an error and the
    plan is pending again, so the approver's next click applies it (not 'already approved' with nothing ever
    applied, nor a second message SQS drops as a duplicate of the first)."""
    with proposed() as (stack, dist_id, plan, body):
        sqs = stack.clients.client("sqs")
        dedup_ids: list[str] = []
        sqs.meta.events.register("before-parameter-build.sqs.SendMessage",
                                 lambda params, **_: dedup_ids.append(params["MessageDeduplicationId"]))
        if lost == "request":
            fail(sqs, "SendMessage", "KMS.ThrottlingException", 400)
        else:
            def timeout(**_: Any) -> None:
                from botocore.exceptions import ReadTimeoutError

                raise ReadTimeoutError(endpoint_url=stack.queue_url)

            sqs.meta.events.register("after-call.sqs.SendMessage", timeout, unique_id="lost-answer")

        answer = stack.approve(body)

        assert answer["statusCode"] == 503
        assert stack.rt.plans.get(plan.plan_id).status == "pending"
        heal(sqs, "SendMessage")
        sqs.meta.events.unregister("after-call.sqs.SendMessage", unique_id="lost-answer")
        stack.drain()  # the message SQS did take (lost answer) finds the plan pending: nothing happens
        assert stack.rt.plans.get(plan.plan_id).status == "pending" and stack.updates() == 0
        assert stack.approve(body)["statusCode"] == 200
        # SQS drops a FIFO message whose deduplication id it saw in the last five minutes, consumed or not (moto
        # forgets it once the message is deleted): the second approval must not reuse the first one's id.
        assert len(dedup_ids) == 2 and dedup_ids[0] != dedup_ids[1]
        stack.drain()
        assert stack.rt.plans.get(plan.plan_id).status == "applied"
        assert stack.updates() == 1


def test_an_applied_approval_keeps_its_audit_record_when_the_first_write_fails(powertools: None) -> None:
    """DynamoDB refused the 'approved-fix applied' record after CloudFront took the plan: the message is retried
    and its retry writes the record (once), instead of the run being reported done without it."""
    with proposed() as (stack, dist_id, plan, body):
        assert stack.approve(body)["statusCode"] == 200
        store = stack.rt.store
        real, refused = store.audit, []

        def audit(**record: Any) -> dict:
            if record.get("action") == "approved-fix" and record.get("result") == "applied" and not refused:
                refused.append(record)
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"},
                                   "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")
            return real(**record)

        store.audit = audit
        answers = deliver(stack) + deliver(stack)

        assert refused and [len(a["batchItemFailures"]) for a in answers] == [1, 0]
        assert stack.rt.plans.get(plan.plan_id).status == "applied"
        assert stack.updates() == 1
        applied = [r for r in stack.audit(dist_id) if (r["action"], r["result"]) == ("approved-fix", "applied")]
        assert len(applied) == 1 and applied[0]["actor"] == "slack:U024BE7LH"


def test_an_approved_plan_left_applying_by_a_run_that_stopped_is_retried_then_applied(powertools: None) -> None:
    """The apply function died (timeout) right after taking an approved plan ('applying'), before any outcome. Its
    message comes back: while that run could still be going the message is kept (retried), and once it cannot
    the plan is taken over and applied, with its audit record. Before: the retry found 'applying', reported
    'not-this-run', and the plan stayed 'applying' with no outcome, its message gone."""
    import time

    with proposed() as (stack, dist_id, plan, body):
        assert stack.approve(body)["statusCode"] == 200
        taken = stack.rt.plans.transition(plan.plan_id, expected="approved", to="applying", now=time.time(),
                                          applying_since=int(time.time()) - 60)
        assert [len(a["batchItemFailures"]) for a in deliver(stack)] == [1]  # the first run might be going
        assert stack.rt.plans.get(plan.plan_id).status == "applying" and stack.updates() == 0

        stack.rt.plans.transition(plan.plan_id, expected="applying", to="applying", now=time.time(),
                                  if_applying_since=taken.applying_since, applying_since=int(time.time()) - 1000)
        assert [len(a["batchItemFailures"]) for a in deliver(stack)] == [0]
        done = stack.rt.plans.get(plan.plan_id)
        assert (done.status, stack.updates()) == ("applied", 1)
        assert done.outcome.startswith("A first run stopped while applying this plan")
        applied = [r for r in stack.audit(dist_id) if (r["action"], r["result"]) == ("approved-fix", "applied")]
        assert len(applied) == 1


# --------------------------------------------------------------------------------------------- review: skipped reads


def test_a_distribution_listed_but_unreadable_fails_the_sweep_even_before_it_is_indexed(stack: Stack) -> None:
    """Known only from an event (the sweep's index has not seen it yet): its config read failing must still fail
    the run (retried, alarmed), not let the sweep report every distribution read."""
    dist_id = queued_host_fix(stack)
    assert dist_id not in stack.rt.store.indexed_distributions()
    before = kept(stack, dist_id)
    fail(stack.clients.cloudfront(), "GetDistributionConfig", "InternalError", 500)

    with pytest.raises(ReadFailedError, match=dist_id):
        stack.sweep()

    assert kept(stack, dist_id) == before
    assert results(stack, dist_id)[-1] == "read-failed"
    assert dist_id in stack.rt.store.indexed_distributions(), "the next sweep checks it again"


def test_an_api_event_is_retried_when_a_distribution_that_may_reach_the_api_could_not_be_read(stack: Stack) -> None:
    """No index yet: the event reads every distribution to find those behind the API. One it could not read may
    be one of them, so the event is retried instead of audited 'no distribution reaches what changed'."""
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    api_id = catalog_api(stack)
    fail(stack.clients.cloudfront(), "GetDistributionConfig", "InternalError", 500)

    with pytest.raises(ReadFailedError, match=dist_id):
        stack.evaluate(load_event("apigateway-delete-resource.json", restApiId=api_id, resourceId="abc123"))

    assert "no-distribution" not in results(stack, None)


def custom_cache_policy(stack: Stack, dist_id: str) -> None:
    """A person's edit: /api/* forwards Host and uses a custom cache policy (read with GetCachePolicy)."""
    policy_id = stack.clients.cloudfront().create_cache_policy(CachePolicyConfig={
        "Name": "api-no-cache", "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False, "EnableAcceptEncodingBrotli": False,
            "HeadersConfig": {"HeaderBehavior": "none"}, "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"}}})["CachePolicy"]["Id"]

    def edit(config: dict) -> None:
        forward_host(config)
        next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*")["CachePolicyId"] = policy_id

    stack.emu.human_edit(dist_id, edit)


def fail_policy_reads_after_the_first(stack: Stack) -> list[int]:
    """GetCachePolicy answers once more (the apply function's collect), then 500s."""
    return fail(stack.clients.cloudfront(), "GetCachePolicy", "InternalError", after=1)


def test_a_policy_read_failing_as_the_auto_fix_is_planned_applies_and_closes_nothing(stack: Stack) -> None:
    """The apply function re-reads the policies as it plans. One it then cannot read made the fix planned on half
    a read, applied, 'verified', and the distribution's findings deleted from the store. Now: nothing is sent,
    the findings stay as they were, the message is retried."""
    dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
    custom_cache_policy(stack, dist_id)
    stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
    before = kept(stack, dist_id)
    assert [r["rule"] for r in before.values()] == ["apigw-host-forwarded"]
    reads = fail_policy_reads_after_the_first(stack)

    [answer] = deliver(stack)

    assert reads[0] > 1
    assert len(answer["batchItemFailures"]) == 1 and stack.updates() == 0
    assert results(stack, dist_id)[-1] == "read-failed"
    assert kept(stack, dist_id) == before
    assert not [s for s in stack.notifier.sent if s[0] == "resolved"]


def test_a_policy_read_failing_as_an_approved_fix_is_verified_closes_nothing(powertools: None) -> None:
    """After an approved plan is applied, its verification could not read a policy: the findings it could not
    re-check stay open, marked unverified (they were deleted, their tickets closed)."""
    with proposed(custom_cache_policy) as (stack, dist_id, plan, body):
        assert [r["rule"] for r in kept(stack, dist_id).values()] == ["apigw-host-forwarded"]
        assert stack.approve(body)["statusCode"] == 200
        reads = fail_policy_reads_after_the_first(stack)

        stack.drain()

        assert reads[0] > 1
        assert stack.rt.plans.get(plan.plan_id).status == "applied" and stack.updates() == 1
        [stored] = stack.rt.store.open_findings(dist_id).values()
        assert stored["rule"] == "apigw-host-forwarded" and stored["unverified"] is True
        assert "InternalError" in stored["unverified_reason"]
