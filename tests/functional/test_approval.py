"""Approvals from Slack: slack_sdk's signature verifier (valid, bad, stale, replay), the approver list, applied at
most once through DynamoDB conditional writes (moto), expiry, and a distribution changed since the plan.

CloudFront runs on ``edgemedic.emulator.Emulator`` (moto does not enforce If-Match nor change ETags; the emulator
does); Slack is a real HTTP server on 127.0.0.1.
"""
from __future__ import annotations

import importlib.util
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from builders import RecordingServer
from edgemedic import policies
from edgemedic.findings import Finding, Fix, FixClass, SetViewerProtocol, Severity
from edgemedic.notify import approval
from edgemedic.notify.exceptions import PlanInFlightError
from edgemedic.notify.slack import APPROVE_ACTION_ID, REJECT_ACTION_ID, SlackNotifier
from edgemedic.notify.store import DynamoPlanStore, PlanRecord, plan_id_for
from edgemedic.plan import plan_from_config

ROOT = Path(__file__).resolve().parents[2]
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVERS = frozenset({"U024BE7LH", "U0AAAAAAA"})
TABLE = "edgemedic"
T0 = 1_706_901_961.0


def sign(body: str, timestamp: float) -> dict[str, str]:
    ts = str(int(timestamp))
    return {"X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)}


def click_body(plan_id: str, user: str = "U024BE7LH", action: str = APPROVE_ACTION_ID,
               response_url: str = "") -> str:
    payload = {
        "type": "block_actions", "team": {"id": "T9TK3CUKW"},
        "user": {"id": user, "username": "alice", "team_id": "T9TK3CUKW"},
        "container": {"type": "message", "message_ts": "1706901961.000200", "channel_id": "C024BE91L"},
        "channel": {"id": "C024BE91L", "name": "cloudfront"}, "response_url": response_url,
        "actions": [{"action_id": action, "block_id": "edgemedic_plan_actions", "value": plan_id,
                     "type": "button", "action_ts": "1706901970.000300"}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@pytest.fixture
def world(emu, cf):
    """A distribution whose /api/* allows plain HTTP, its approve plan stored as pending, a Slack stand-in."""
    clients = emu.clients()
    cloudfront = clients.cloudfront()
    dynamodb = clients.client("dynamodb")
    dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}])
    api = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    config = cf.distribution_config(
        "shop", [cf.custom_origin("api", api), cf.s3_origin("site", "shop-site")],
        cf.policy_behavior("site"),
        [cf.policy_behavior("api", "/api/*", orp=policies.ALL_VIEWER_EXCEPT_HOST_HEADER, viewer="allow-all")])
    dist_id = cf.create_distribution(cloudfront, config)
    with RecordingServer() as slack:
        slack.answer("POST", "/api/chat.postMessage", 200, {"ok": True, "channel": "C024BE91L", "ts": "2.0"})
        slack.answer("POST", "/api/chat.update", 200, {"ok": True, "channel": "C024BE91L", "ts": "1.0"})
        notifier = SlackNotifier(token="xoxb-test", channel="C024BE91L", api_url=slack.url + "/api/")
        store = DynamoPlanStore(dynamodb, TABLE)
        w = World(emu, cloudfront, dist_id, store, notifier, slack)
        w.plan_id = approval.propose(w.plan(), store, notifier, now=T0).plan_id
        yield w


class World:
    def __init__(self, emu: Any, cloudfront: Any, dist_id: str, store: DynamoPlanStore, notifier: SlackNotifier,
                 slack: RecordingServer):
        self.emu, self.cloudfront, self.dist_id, self.store = emu, cloudfront, dist_id, store
        self.notifier, self.slack = notifier, slack
        self.plan_id = ""
        self.reproposed: list[str] = []

    def finding(self) -> Finding:
        return Finding("apigw-viewer-http-allowed", Severity.MEDIUM, self.dist_id, "/api/*", "api",
                       "/api/* lets viewers call the API over plain HTTP", "Tokens sent in clear text",
                       Fix(FixClass.APPROVE, "redirect-to-https", (SetViewerProtocol("/api/*", "redirect-to-https"),)))

    def plan(self) -> Any:
        got = self.cloudfront.get_distribution_config(Id=self.dist_id)
        return plan_from_config(self.dist_id, got["DistributionConfig"], got["ETag"], [self.finding()],
                                classes=frozenset({FixClass.AUTO, FixClass.APPROVE}))

    def viewer_policy(self) -> str:
        config = self.cloudfront.get_distribution_config(Id=self.dist_id)["DistributionConfig"]
        return config["CacheBehaviors"]["Items"][0]["ViewerProtocolPolicy"]

    def applier(self) -> approval.Applier:
        def verify(config: dict, etag: str) -> list:
            api = config["CacheBehaviors"]["Items"][0]
            return [self.finding()] if api["ViewerProtocolPolicy"] == "allow-all" else []

        def repropose(dist_id: str) -> Any:
            self.reproposed.append(dist_id)
            return self.plan()

        return approval.Applier(self.store, self.notifier, self.cloudfront, verify=verify, repropose=repropose)

    def click(self, body: str, at: float) -> approval.Decision:
        click = approval.parse_click(body)
        return approval.decide(click, self.store, APPROVERS, now=at)

    def updates(self) -> int:
        return self.emu.calls[("cloudfront", "UpdateDistribution")]


# --------------------------------------------------------------------------------------------- signatures


def test_signature_valid_bad_and_stale():
    body = click_body("E1-abc")
    headers = sign(body, T0)
    assert approval.verify(SECRET, body, headers, now=T0 + 299)
    assert not approval.verify(SECRET, body, {**headers, "X-Slack-Signature": "v0=" + "0" * 64}, now=T0)
    assert not approval.verify("another-secret", body, headers, now=T0)
    assert not approval.verify(SECRET, body + "&x=1", headers, now=T0)  # body changed after signing
    assert not approval.verify(SECRET, body, headers, now=T0 + 301)  # older than five minutes
    assert not approval.verify(SECRET, body, headers, now=T0 - 301)  # from the future
    assert not approval.verify(SECRET, body, {}, now=T0)


def test_parse_click_ignores_other_payloads():
    click = approval.parse_click(click_body("E1-abc", response_url="https://hooks.slack.com/actions/T/1/x"))
    assert click == approval.Click("approve", "E1-abc", "U024BE7LH", "alice", "T9TK3CUKW", "C024BE91L",
                                   "1706901961.000200", "https://hooks.slack.com/actions/T/1/x")
    assert approval.parse_click("payload=" + urllib.parse.quote(json.dumps({"type": "view_submission"}))) is None
    assert approval.parse_click("token=x") is None


# --------------------------------------------------------------------------------------------- decisions


def test_approve_applies_once_and_updates_the_message(world):
    decision = world.click(click_body(world.plan_id), T0 + 60)
    assert (decision.outcome, decision.apply, decision.record.status) == ("approved", True, "approved")
    assert world.store.get(world.plan_id).decided_by == "U024BE7LH"

    done = world.applier().run(world.plan_id, now=T0 + 61)
    assert (done.status, done.outcome) == ("applied", "")
    assert world.viewer_policy() == "redirect-to-https"
    assert world.updates() == 1
    updates = [r.json() for r in world.slack.requests if r.path == "/api/chat.update"]
    assert [(u["channel"], u["ts"]) for u in updates] == [("C024BE91L", "1706901961.000200")] * 2
    assert updates[0]["blocks"][0]["text"]["text"].startswith(":hourglass_flowing_sand: Approved, applying")
    assert updates[1]["blocks"][0]["text"]["text"] == f":white_check_mark: Fixed CloudFront {world.dist_id}"
    assert updates[1]["blocks"][-1]["elements"][0]["text"].startswith("Approved by <@U024BE7LH> and applied")


def test_replay_and_double_click_act_once(world):
    body = click_body(world.plan_id)
    headers = sign(body, T0 + 60)
    for _ in range(2):  # the same signed request twice, inside the five minutes
        assert approval.verify(SECRET, body, headers, now=T0 + 90)
    first, second = world.click(body, T0 + 90), world.click(body, T0 + 91)
    assert (first.outcome, second.outcome, second.apply) == ("approved", "already-decided", False)
    assert second.reply == "Already approved by <@U024BE7LH>; nothing more was done."
    applier = world.applier()
    assert applier.run(world.plan_id, now=T0 + 92).status == "applied"
    assert applier.run(world.plan_id, now=T0 + 93) is None  # a retried async invocation
    assert world.updates() == 1


def test_second_approver_after_the_first_changes_nothing(world):
    world.click(click_body(world.plan_id, user="U024BE7LH"), T0 + 60)
    late = world.click(click_body(world.plan_id, user="U0AAAAAAA"), T0 + 61)
    assert late.outcome == "already-decided" and "<@U024BE7LH>" in late.reply
    assert world.store.get(world.plan_id).decided_by == "U024BE7LH"


def test_unknown_user_changes_nothing(world):
    decision = world.click(click_body(world.plan_id, user="U0MALLORY"), T0 + 60)
    assert (decision.outcome, decision.apply) == ("unknown-user", False)
    assert world.store.get(world.plan_id).status == "pending"
    assert world.viewer_policy() == "allow-all"


def test_reject(world):
    decision = world.click(click_body(world.plan_id, action=REJECT_ACTION_ID), T0 + 60)
    assert (decision.outcome, decision.refresh, decision.record.status) == ("rejected", True, "rejected")
    assert world.applier().run(world.plan_id, now=T0 + 61) is None
    assert world.updates() == 0


def test_expired_plan_is_not_applied(world):
    decision = world.click(click_body(world.plan_id), T0 + 24 * 3600)
    assert (decision.outcome, decision.apply) == ("expired", False)
    assert world.store.get(world.plan_id).status == "expired"
    assert world.applier().run(world.plan_id, now=T0 + 24 * 3600 + 1) is None
    assert world.viewer_policy() == "allow-all" and world.updates() == 0


def test_config_changed_since_the_plan_is_not_applied_and_a_fresh_plan_is_posted(world):
    old = world.store.get(world.plan_id)
    world.click(click_body(world.plan_id), T0 + 60)
    new_etag = world.emu.human_edit(world.dist_id, lambda c: c.update(Comment="changed by a person"))
    done = world.applier().run(world.plan_id, now=T0 + 61)
    assert done.status == "superseded"
    assert done.outcome == f"The distribution changed since the plan was made (ETag {old.etag} → {new_etag})."
    config = world.cloudfront.get_distribution_config(Id=world.dist_id)["DistributionConfig"]
    assert config["Comment"] == "changed by a person"  # the person's edit survives
    assert world.viewer_policy() == "allow-all"  # nothing of ours was applied
    assert world.reproposed == [world.dist_id]
    fresh = world.plan()
    assert fresh.etag == new_etag and world.store.get(plan_id_for(fresh)).status == "pending"
    posts = [r.json() for r in world.slack.requests if r.path == "/api/chat.postMessage"]
    assert len(posts) == 2  # the first proposal and the fresh one
    assert posts[1]["blocks"][-1]["elements"][1]["value"] == plan_id_for(fresh)
    assert posts[1]["blocks"][-2]["elements"][0]["text"].startswith(
        f"Fresh proposal: The distribution changed since the plan was made (ETag {old.etag} → {new_etag}). Expires ")
    superseded = [r.json() for r in world.slack.requests if r.path == "/api/chat.update"][-1]
    assert superseded["blocks"][0]["text"]["text"] == (
        f":arrows_counterclockwise: Fix for {world.dist_id} not applied: the distribution changed")


# --------------------------------------------------------------------------------------------- the function


class _Context:
    function_name = "edgemedic-approve"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:edgemedic-approve"
    memory_limit_in_mb = 256
    aws_request_id = "3f1c4a7e-0000-4000-8000-000000000000"


def _url_event(body: str, headers: dict[str, str]) -> dict:
    """A Lambda Function URL request (payload format 2.0, as documented for function URLs)."""
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/slack/actions", "rawQueryString": "",
        "headers": {"content-type": "application/x-www-form-urlencoded", "user-agent": "Slackbot 1.0",
                    "host": "abcdefg.lambda-url.us-east-1.on.aws", **{k.lower(): v for k, v in headers.items()}},
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefg", "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefg", "http": {"method": "POST", "path": "/slack/actions", "protocol": "HTTP/1.1",
                                                "sourceIp": "54.209.0.1", "userAgent": "Slackbot 1.0"},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "routeKey": "$default", "stage": "$default",
            "time": "02/Feb/2024:19:26:01 +0000", "timeEpoch": 1706901961000},
        "body": body, "isBase64Encoded": False}


@pytest.fixture
def function(world, monkeypatch):
    """functions/approve/app.py on the world's moto: the Slack secret in Secrets Manager, a FIFO apply queue."""
    from edgemedic.handlers import runtime

    clients = world.emu.clients()
    secret_arn = clients.client("secretsmanager").create_secret(Name="edgemedic/slack", SecretString=json.dumps({
        "signing_secret": SECRET, "bot_token": "xoxb-test", "channel": "C024BE91L"}))["ARN"]
    queue_url = clients.client("sqs").create_queue(QueueName="edgemedic-apply.fifo",
                                                   Attributes={"FifoQueue": "true"})["QueueUrl"]
    for name, value in {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "edgemedic",
                        "POWERTOOLS_SERVICE_NAME": "edgemedic-approve"}.items():
        monkeypatch.setenv(name, value)
    runtime.configure(clients=clients, environ={"TABLE_NAME": TABLE, "APPLY_QUEUE_URL": queue_url,
                                                "SLACK_SECRET_ARN": secret_arn,
                                                "SLACK_APPROVERS": ",".join(sorted(APPROVERS))})
    spec = importlib.util.spec_from_file_location("edgemedic_fn_approve", ROOT / "functions" / "approve" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    # the function runs on the real clock: a plan proposed now
    world.plan_id += "-now"
    world.store.put(PlanRecord.from_plan(world.plan(), now=time.time(), plan_id=world.plan_id))

    def queued() -> list[dict]:
        sqs = clients.client("sqs")
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        for m in got.get("Messages", []):  # as the apply function's poller would (a FIFO group waits until then)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [{"body": json.loads(m["Body"]), "group": m["Attributes"]["MessageGroupId"],
                 "dedup": m["Attributes"]["MessageDeduplicationId"]} for m in got.get("Messages", [])]

    yield app, queued
    runtime.reset()


def test_function_url_refuses_a_bad_signature_without_logging_the_body(function, world, capsys):
    app, queued = function
    body = click_body(world.plan_id)
    for headers in ({**sign(body, time.time()), "X-Slack-Signature": "v0=" + "f" * 64},  # bad signature
                    sign(body, time.time() - 301)):  # older than five minutes
        response = app.lambda_handler(_url_event(body, headers), _Context())
        assert (response["statusCode"], response["body"]) == (401, "invalid signature")
    logged = capsys.readouterr()
    assert "block_actions" not in logged.out + logged.err and world.plan_id not in logged.out + logged.err
    assert SECRET not in logged.out + logged.err
    assert queued() == [] and world.store.get(world.plan_id).status == "pending"


def test_function_url_records_the_approval_and_queues_the_plan(function, world):
    app, queued = function
    body = click_body(world.plan_id, response_url="https://hooks.slack.com/actions/T/1/x")
    began = time.monotonic()
    response = app.lambda_handler(_url_event(body, sign(body, time.time())), _Context())
    assert time.monotonic() - began < 3
    assert (response["statusCode"], response["body"]) == (200, "")
    [message] = queued()
    assert len(message.pop("dedup")) == 64, "one deduplication id per send (see ApplyQueue.send_approved)"
    assert message == {"body": {"kind": "approved-plan", "plan_id": world.plan_id,
                                "distribution_id": world.dist_id, "approver": "U024BE7LH"},
                       "group": world.dist_id}
    assert world.store.get(world.plan_id).status == "approved"
    assert world.updates() == 0, "the approve function never writes to CloudFront"

    replay = app.lambda_handler(_url_event(body, sign(body, time.time())), _Context())
    assert replay["statusCode"] == 200
    assert [m["body"] for m in queued()] == [{
        "kind": "slack", "task": "reply", "response_url": "https://hooks.slack.com/actions/T/1/x",
        "text": "Already approved by <@U024BE7LH>; nothing more was done.", "plan_id": world.plan_id,
        "user": "U024BE7LH", "outcome": "already-decided"}]  # the apply function audits the refused click


def test_function_url_unknown_user_changes_nothing_and_is_told(function, world):
    app, queued = function
    body = click_body(world.plan_id, user="U0MALLORY", response_url="https://hooks.slack.com/actions/T/1/y")
    response = app.lambda_handler(_url_event(body, sign(body, time.time())), _Context())
    assert response["statusCode"] == 200
    assert world.store.get(world.plan_id).status == "pending"
    [message] = queued()
    assert message["body"]["task"] == "reply" and message["body"]["text"].startswith("You are not on edgemedic's")


# --------------------------------------------------------------------------------------------- a run that stopped


class _Killed(BaseException):
    """The apply function's process ending mid-run (a Lambda timeout): no except clause of ours sees it."""


def _dies_after(update: bool):
    """An apply that stops the run, before or after sending the update (the real apply_fixes does the update)."""
    from edgemedic.act.apply import apply_fixes

    def apply(cloudfront: Any, distribution_id: str, plan_for: Any, **kwargs: Any) -> Any:
        if update:
            apply_fixes(cloudfront, distribution_id, plan_for, **kwargs)
        raise _Killed()

    return apply


def test_a_plan_left_applying_by_a_run_that_stopped_is_applied_by_the_retried_message(world):
    """Before: the retried message found the plan 'applying', did nothing, and the plan stayed 'applying' forever
    (the message said "Approved, applying..." and no outcome was ever recorded)."""
    world.click(click_body(world.plan_id), T0 + 60)
    first = world.applier()
    first.apply = _dies_after(update=False)
    with pytest.raises(_Killed):
        first.run(world.plan_id, now=T0 + 61)
    assert world.store.get(world.plan_id).status == "applying" and world.updates() == 0
    done = world.applier().run(world.plan_id, now=T0 + 61 + 1800)  # the apply queue's visibility timeout
    assert done.status == "applied"
    assert done.outcome == approval.RESUMED.strip()
    assert world.viewer_policy() == "redirect-to-https" and world.updates() == 1
    assert world.applier().run(world.plan_id, now=T0 + 61 + 3600) is None  # and only once


def test_a_run_that_stopped_after_its_update_is_not_applied_again_and_says_so(world):
    world.click(click_body(world.plan_id), T0 + 60)
    old = world.store.get(world.plan_id)
    first = world.applier()
    first.apply = _dies_after(update=True)
    with pytest.raises(_Killed):
        first.run(world.plan_id, now=T0 + 61)
    assert world.updates() == 1 and world.viewer_policy() == "redirect-to-https"
    new_etag = world.cloudfront.get_distribution_config(Id=world.dist_id)["ETag"]
    done = world.applier().run(world.plan_id, now=T0 + 61 + 1800)
    assert done.status == "superseded"
    assert done.outcome == (approval.RESUMED + f"The distribution changed since the plan was made (ETag {old.etag} "
                            f"→ {new_etag})." + approval.RESUMED_CHANGED)
    assert world.updates() == 1  # nothing sent twice
    assert world.reproposed == [world.dist_id]  # what is left (here nothing: the fix is in place) is proposed again


def test_a_plan_still_being_applied_is_retried_later_not_dropped(world):
    world.click(click_body(world.plan_id), T0 + 60)
    first = world.applier()
    first.apply = _dies_after(update=False)
    with pytest.raises(_Killed):
        first.run(world.plan_id, now=T0 + 61)
    with pytest.raises(PlanInFlightError):
        world.applier().run(world.plan_id, now=T0 + 61 + 60)  # the first run could still be going
    assert world.store.get(world.plan_id).status == "applying" and world.updates() == 0
