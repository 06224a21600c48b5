"""Fuzzing the deployed app's four entry points (issue #8): hypothesis generates EventBridge events, SQS apply
messages, Slack requests and fault plans; each goes through functions/*/app.py on the emulator, and a ``Tally``
counts what must stay zero:

- crashes: an exception a retry cannot fix, or a 5xx (what is expected to raise says so: a read that failed);
- writes to CloudFront caused by malformed input;
- records lost: a store write reported done whose item is not in the table, under injected UnprocessedItems and
  throttling;
- findings or tickets closed under injected read failures;
- forged or stale Slack requests accepted.

tests/e2e/test_fuzz.py runs a few dozen of each (``EDGEMEDIC_FUZZ_EXAMPLES``); benchmarks/fuzz.py runs 5,000+ and
prints the figures (benchmarks/README.md).
"""
from __future__ import annotations

import json
import os
import string
import time
import urllib.parse
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgemedic import local, policies, scenarios
from edgemedic.emulator import Emulator
from edgemedic.errors import EdgemedicError
from edgemedic.handlers import runtime
from edgemedic.local import LambdaContext, Stack, load_event

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVER = "U024BE7LH"
EVENT_FILES = sorted(p.name for p in (local.app_root() / "events").glob("*.json"))
# What botocore hands edgemedic once its retries are spent.
READ_FAULTS = [("InternalError", 500), ("ServiceUnavailable", 503), ("AccessDenied", 403),
               ("AccessDeniedException", 403), ("Throttling", 400), ("TooManyRequestsException", 429),
               ("RequestTimeout", 408)]


def examples(default: int) -> int:
    return int(os.environ.get("EDGEMEDIC_FUZZ_EXAMPLES", default))


def fuzz_settings(count: int) -> settings:
    # The test suite replays the same inputs on every run (derandomize); benchmarks/fuzz.py draws fresh ones.
    return settings(max_examples=count, deadline=None, database=None,
                    derandomize=os.environ.get("EDGEMEDIC_FUZZ_RANDOM") != "1",
                    suppress_health_check=list(HealthCheck))


@dataclass
class Tally:
    inputs: Counter = field(default_factory=Counter)  # entry point -> inputs generated
    outcomes: Counter = field(default_factory=Counter)  # (entry point, outcome) -> count
    crashes: list[str] = field(default_factory=list)
    cloudfront_writes_from_malformed: int = 0
    records_lost: int = 0
    closed_under_read_failures: int = 0
    forged_or_stale_accepted: int = 0

    def figures(self) -> dict[str, Any]:
        return {"inputs": dict(self.inputs), "total_inputs": sum(self.inputs.values()),
                "crashes": len(self.crashes), "cloudfront_writes_from_malformed_input":
                self.cloudfront_writes_from_malformed, "records_lost_under_unprocessed_items_and_throttling":
                self.records_lost, "findings_or_tickets_closed_under_read_failures": self.closed_under_read_failures,
                "forged_or_stale_slack_requests_accepted": self.forged_or_stale_accepted,
                "outcomes": {f"{k[0]}:{k[1]}": v for k, v in sorted(self.outcomes.items())},
                "first_crashes": self.crashes[:5]}

    def clean(self) -> bool:
        return not (self.crashes or self.cloudfront_writes_from_malformed or self.records_lost
                    or self.closed_under_read_failures or self.forged_or_stale_accepted)


# --------------------------------------------------------------------------------------------- strategies

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 63, 2 ** 63), st.floats(allow_nan=False),
                      st.text(max_size=40), st.sampled_from(["", "E2QWRUHAPOMQZL", "us-east-1", "a" * 3000,
                                                            "\ud800", "ü€𝄞", "../../etc", "GetDistribution"]))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                          max_leaves=12)
ids = st.one_of(st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=20), st.text(max_size=30),
                st.sampled_from(["E2QWRUHAPOMQZL", "a" * 900, "", "E1/../x", "\ud800"]))
regions = st.one_of(st.sampled_from(["us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1", "xx-nowhere-9"]),
                    st.text(max_size=30))


@st.composite
def events(draw: Callable) -> Any:
    """A real event file, mutated (fields replaced, removed, retyped), or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_value)
    event = load_event(draw(st.sampled_from(EVENT_FILES)))
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["event", "detail", "request", "identity"]))
        target = {"event": event, "detail": detail, "request": detail.get("requestParameters") or {},
                  "identity": detail.get("userIdentity") or {}}[where]
        if not isinstance(target, dict):
            continue
        key = draw(st.one_of(st.sampled_from(sorted(target) or ["x"]),
                             st.sampled_from(["readOnly", "errorCode", "account", "awsRegion", "eventID",
                                              "eventName", "recipientAccountId", "id", "restApiId", "apiId",
                                              "domainName"])))
        choice = draw(st.integers(0, 4))
        if choice == 0:
            target.pop(key, None)
        elif choice == 1:
            target[key] = draw(ids)
        elif choice == 2:
            target[key] = draw(regions)
        else:
            target[key] = draw(json_value)
    return event


@st.composite
def apply_messages(draw: Callable) -> str:
    kind = draw(st.sampled_from(["auto-fix", "approved-plan", "slack", "other", None]))
    body: Any = {"kind": kind} if kind else {}
    if kind in ("auto-fix", None):
        body.update(distribution_id=draw(ids), event_id=draw(ids), event_name=draw(st.text(max_size=20)),
                    actor=draw(st.text(max_size=20)), rules=draw(st.one_of(st.lists(st.text(max_size=10)),
                                                                          json_value)))
    elif kind == "approved-plan":
        body.update(plan_id=draw(st.one_of(ids, st.builds(lambda d, h: f"{d}-{h}", ids, ids))),
                    distribution_id=draw(ids))
    elif kind == "slack":
        body.update(task=draw(st.sampled_from(["refresh", "reply", "decision", "other"])), plan_id=draw(ids),
                    user=draw(st.text(max_size=20)), outcome=draw(st.text(max_size=20)),
                    text=draw(st.text(max_size=40)))
    for _ in range(draw(st.integers(0, 2))):
        body[draw(st.text(max_size=10))] = draw(json_value)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.text(max_size=60))
    if choice == 1:
        return json.dumps(draw(json_value))
    return json.dumps(body)


# --------------------------------------------------------------------------------------------- stacks


def _env() -> dict[str, str]:
    return local.powertools_env("edgemedic-fuzz")


class _Environ:
    def __enter__(self) -> "_Environ":
        self.saved = {k: os.environ.get(k) for k in _env()}
        os.environ.update(_env())
        return self

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        runtime.reset()


def forward_host(config: dict) -> None:
    next(b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*")[
        "OriginRequestPolicyId"] = policies.ALL_VIEWER


def _deliver(stack: Stack, body: str) -> dict:
    record = {"messageId": "fuzz-1", "receiptHandle": "r", "body": body,
              "attributes": {"MessageGroupId": "g", "MessageDeduplicationId": "d", "ApproximateReceiveCount": "1",
                             "SentTimestamp": "1", "SenderId": "s", "ApproximateFirstReceiveTimestamp": "1"},
              "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
              "eventSourceARN": f"arn:aws:sqs:us-east-1:{local.ACCOUNT}:{local.APPLY_QUEUE}", "awsRegion": "us-east-1"}
    try:
        return stack.function("apply").lambda_handler({"Records": [record]}, LambdaContext("edgemedic-apply"))
    except BatchProcessingError as exc:  # the batch failed: Lambda retries it, then the DLQ
        return {"batchItemFailures": [{"itemIdentifier": "fuzz-1"}], "error": repr(exc.child_exceptions[-1][1])}


def _is_retry(error: str) -> bool:
    """An apply failure that is a retry by design (a read or write AWS did not answer), not a crash."""
    return any(name in error for name in ("ReadFailedError", "StoreWriteError", "ThrottledError"))


def drain_all(stack: Stack) -> None:
    sqs = stack.clients.client("sqs")
    while True:
        got = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=1)
        if not got.get("Messages"):
            return
        message = got["Messages"][0]
        _deliver(stack, message["Body"])
        sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])


# --------------------------------------------------------------------------------------------- the four targets


def fuzz_evaluate(tally: Tally, count: int) -> None:
    """Mutated and random events into evaluate, on a stack with one clean distribution (nothing to fix): any
    UpdateDistribution after draining the apply queue was caused by malformed input."""
    with _Environ(), Emulator() as emu:
        stack = local.start(emu, table="edgemedic-fuzz", api_regions=("us-east-1", "eu-west-1"))
        dist_id = scenarios.build(stack.clients, ["clean"])["clean"]

        @fuzz_settings(count)
        @given(events())
        def run(event: Any) -> None:
            if isinstance(event, dict) and isinstance(event.get("detail"), dict):
                params = event["detail"].get("requestParameters")
                if isinstance(params, dict) and params.get("id") == "E2QWRUHAPOMQZL":
                    params["id"] = dist_id  # some events name the real distribution
            tally.inputs["evaluate"] += 1
            before = stack.updates()
            try:
                answer = stack.evaluate(event)
                tally.outcomes[("evaluate", answer.get("status"))] += 1
            except EdgemedicError as exc:  # a read that failed: retried by design, not a crash
                tally.outcomes[("evaluate", type(exc).__name__)] += 1
            except Exception as exc:  # noqa: BLE001 - the figure
                tally.crashes.append(f"evaluate: {type(exc).__name__}: {exc}"[:300])
            drain_all(stack)
            tally.cloudfront_writes_from_malformed += stack.updates() - before

        run()


def fuzz_apply(tally: Tally, count: int) -> None:
    """Generated apply-queue messages into apply, on a stack with one clean and one broken distribution: no
    message edgemedic did not write may cause an UpdateDistribution."""
    with _Environ(), Emulator() as emu:
        stack = local.start(emu, table="edgemedic-fuzz", api_regions=("us-east-1", "eu-west-1"))
        dist_id = scenarios.build(stack.clients, ["clean"])["clean"]

        @fuzz_settings(count)
        @given(apply_messages())
        def run(body: str) -> None:
            body = body.replace("E2QWRUHAPOMQZL", dist_id)  # some messages name the real distribution
            tally.inputs["apply"] += 1
            before = stack.updates()
            answer = _deliver(stack, body)
            if answer.get("error") and not _is_retry(answer["error"]):
                tally.crashes.append(f"apply: {answer['error']}"[:300])
            tally.outcomes[("apply", "retried" if answer["batchItemFailures"] else "consumed")] += 1
            tally.cloudfront_writes_from_malformed += stack.updates() - before

        run()


@st.composite
def slack_requests(draw: Callable) -> dict[str, Any]:
    """A request to the approval URL: junk headers, or signed with a wrong secret (forged), too long ago (stale),
    too far ahead (future), or properly (signed); its body names the pending plan (``PLAN``) or not."""
    kind = draw(st.sampled_from(["junk", "forged", "stale", "future", "signed"]))
    payload = draw(st.one_of(json_value, st.fixed_dictionaries({
        "type": st.sampled_from(["block_actions", "view_submission"]),
        "user": st.fixed_dictionaries({"id": st.sampled_from([APPROVER, "U0MALLORY", ""])}),
        "actions": st.lists(st.fixed_dictionaries({
            "action_id": st.sampled_from(["edgemedic_approve", "edgemedic_reject", "x"]),
            "value": st.one_of(ids, st.just("PLAN")),
        }), max_size=2),
        "response_url": st.sampled_from(["", "https://hooks.slack.com/actions/T/1/x"]),
    })))
    return {
        "kind": kind,
        "body": draw(st.one_of(st.text(max_size=80),
                               st.just(urllib.parse.urlencode({"payload": json.dumps(payload)})))),
        "junk_headers": draw(st.dictionaries(st.sampled_from(["X-Slack-Request-Timestamp", "X-Slack-Signature",
                                                              "X-Other"]), st.text(max_size=40), max_size=3)),
        "secret": draw(st.text(string.ascii_letters + string.digits + string.punctuation, min_size=1,
                               max_size=40).filter(lambda s: s != SIGNING_SECRET)),
        # Slack's window is 5 minutes either way; 6 and more, so that the seconds a run takes never bring a stale or
        # future-dated request back inside it.
        "skew": draw(st.integers(360, 10 ** 9)),
        "base64": draw(st.booleans()),
    }


def fuzz_approve(tally: Tally, count: int) -> None:
    """Junk, forged, stale and future-dated requests into the approve function's URL, and signed ones with random
    payloads (unknown plans, a non-approver): only a signed, fresh request may be answered 200, and no plan may
    change state (an approver's signed click is never generated; a forged one often is)."""
    import base64

    with _Environ(), Emulator() as emu, local.SlackStandIn() as slack:
        stack = local.start(emu, table="edgemedic-fuzz", slack=slack, approvers=(APPROVER,),
                            signing_secret=SIGNING_SECRET, environ={"MODE_AUTO_FIXES": "approve"})
        dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
        stack.emu.human_edit(dist_id, forward_host)
        stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
        [plan] = stack.rt.plans.plans_of(dist_id)

        @fuzz_settings(count)
        @given(slack_requests())
        def run(request: dict[str, Any]) -> None:
            kind, body = request["kind"], request["body"].replace("PLAN", plan.plan_id)
            now = time.time()
            if kind == "signed":  # properly signed, but never by an approver
                body = body.replace(APPROVER, "U0MALLORY")
            headers = {
                "junk": lambda: request["junk_headers"],
                "forged": lambda: local.sign_slack_request(request["secret"], body, now),
                "stale": lambda: local.sign_slack_request(SIGNING_SECRET, body, now - request["skew"]),
                "future": lambda: local.sign_slack_request(SIGNING_SECRET, body, now + request["skew"]),
                "signed": lambda: local.sign_slack_request(SIGNING_SECRET, body, now),
            }[kind]()
            tally.inputs["approve"] += 1
            event = local.function_url_event(body, headers)
            if request["base64"]:
                event.update(body=base64.b64encode(body.encode("utf-8", "surrogatepass")).decode(),
                             isBase64Encoded=True)
            try:
                answer = stack.function("approve").lambda_handler(event, LambdaContext.of("approve"))
            except Exception as exc:  # noqa: BLE001 - the figure
                tally.crashes.append(f"approve: {type(exc).__name__}: {exc}"[:300])
                return
            status = answer["statusCode"]
            tally.outcomes[("approve", f"{kind}:{status}")] += 1
            if status >= 500:
                tally.crashes.append(f"approve: HTTP {status} for a {kind} request")
            if kind != "signed" and status == 200:
                tally.forged_or_stale_accepted += 1
            if stack.rt.plans.get(plan.plan_id).status != "pending":
                tally.forged_or_stale_accepted += 1  # nobody allowed clicked: the plan must not move

        run()


FAULT_TARGETS = [("cloudfront", "ListDistributions"), ("cloudfront", "GetDistributionConfig"),
                 ("cloudfront", "GetDistribution"), ("cloudfront", "ListTagsForResource"),
                 ("cloudfront", "GetOriginRequestPolicy"), ("cloudfront", "GetCachePolicy"),
                 ("apigateway", "GetResources"), ("apigateway", "GetRestApi"), ("apigateway", "GetStages"),
                 ("apigateway", "GetDomainNames"), ("apigateway", "GetBasePathMappings"),
                 ("apigateway", "GetAuthorizers")]


@st.composite
def fault_plans(draw: Callable) -> list[tuple[str, str, str, int, int | None]]:
    """Some reads fail: (service, operation, code, status, how many calls fail; None = all)."""
    chosen = draw(st.lists(st.sampled_from(FAULT_TARGETS), min_size=1, max_size=3, unique=True))
    return [(service, op, *draw(st.sampled_from(READ_FAULTS)), draw(st.one_of(st.none(), st.integers(1, 3))))
            for service, op in chosen]


def _inject(stack: Stack, plan: list) -> ExitStack:
    stop = ExitStack()
    for service, operation, code, status, times in plan:
        clients = [stack.clients.cloudfront()] if service == "cloudfront" else \
            [stack.clients.apigateway(r) for r in ("us-east-1", "eu-west-1")]
        for client in clients:
            seen = [0]

            def answer(seen: list = seen, code: str = code, status: int = status, times: int | None = times,
                       operation: str = operation, **_: Any) -> None:
                seen[0] += 1
                if times is None or seen[0] <= times:
                    raise ClientError({"Error": {"Code": code, "Message": "injected"},
                                       "ResponseMetadata": {"HTTPStatusCode": status}}, operation)

            name = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
            uid = f"fuzz-{id(answer)}"
            client.meta.events.register(name, answer, unique_id=uid)
            stop.callback(client.meta.events.unregister, name, unique_id=uid)
    return stop


def fuzz_sweep(tally: Tally, count: int) -> None:
    """The sweep under generated read failures, on a stack holding an open finding with a ticket (its API's /api
    was deleted): nothing changed in AWS, so every stored finding, its ticket and the index must survive."""
    with _Environ(), Emulator() as emu:
        stack = local.start(emu, table="edgemedic-fuzz", api_regions=("us-east-1", "eu-west-1"))
        dist_id = scenarios.build(stack.clients, ["clean"])["clean"]
        apigw = stack.clients.apigateway("eu-west-1")
        api_id = next(a["id"] for a in apigw.get_rest_apis()["items"] if a["name"] == "catalog-api")
        under = [r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"].startswith("/api")]
        for resource in sorted(under, key=lambda r: -r["path"].count("/")):
            apigw.delete_resource(restApiId=api_id, resourceId=resource["id"])
        stack.sweep()
        store = stack.rt.store
        stored = store.open_findings(dist_id)
        store.write_findings(dist_id, {k: {**r, "ticket": f"https://github.com/acme/ops/issues/{i}"}
                                       for i, (k, r) in enumerate(stored.items())}, stored)

        def state() -> tuple:
            findings = {k: (r["rule"], r.get("ticket")) for k, r in store.open_findings(dist_id).items()}
            return findings, dist_id in store.indexed_distributions()

        baseline = state()
        assert baseline[0] and baseline[1]

        @fuzz_settings(count)
        @given(fault_plans())
        def run(plan: list) -> None:
            tally.inputs["sweep"] += 1
            sent = len(stack.notifier.sent)
            with _inject(stack, plan):
                try:
                    stack.sweep()
                    tally.outcomes[("sweep", "swept")] += 1
                except EdgemedicError as exc:
                    tally.outcomes[("sweep", type(exc).__name__)] += 1
                except Exception as exc:  # noqa: BLE001 - the figure
                    tally.crashes.append(f"sweep: {type(exc).__name__}: {exc}"[:300])
            closed = [s for s in stack.notifier.sent[sent:] if s[0] == "resolved"]
            if state() != baseline or closed:
                tally.closed_under_read_failures += 1

        run()


class _Faulty:
    """A DynamoDB client that leaves writes unprocessed and throttles, as a hot table does, following a schedule
    drawn up front (so that hypothesis can replay an example whatever the table holds)."""

    def __init__(self, client: Any, schedule: list[str]):
        self.client, self.schedule = client, iter(schedule)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _next(self) -> str:
        return next(self.schedule, "ok")

    def batch_write_item(self, RequestItems: dict) -> dict:  # noqa: N803 - boto3's name
        mode = self._next()
        if mode == "throttle":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                              "BatchWriteItem")
        if mode == "ok":
            return self.client.batch_write_item(RequestItems=RequestItems)
        [(table, requests)] = RequestItems.items()
        keep = requests[: len(requests) // 2] if mode == "partial" else []
        if keep:
            self.client.batch_write_item(RequestItems={table: keep})
        left = requests[len(keep):]
        return {"UnprocessedItems": {table: left} if left else {}}

    def put_item(self, **kwargs: Any) -> dict:
        if self._next() == "throttle":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutItem")
        return self.client.put_item(**kwargs)


FAULT_SCHEDULE = st.lists(st.sampled_from(["ok", "partial", "none", "throttle"]), max_size=24)


def fuzz_store(tally: Tally, count: int) -> None:
    """Findings, index and audit writes through a table that leaves items unprocessed and throttles: a write that
    returns is in the table; one that is not raises (the invocation fails and is retried)."""
    from edgemedic.handlers import store as store_module

    with _Environ(), Emulator() as emu:
        local.start(emu, table="edgemedic-fuzz")
        client = emu.clients().client("dynamodb")
        real_sleep = store_module.time.sleep
        store_module.time.sleep = lambda _: None
        try:
            @fuzz_settings(count)
            @given(st.data())
            def run(data: Any) -> None:
                tally.inputs["store"] += 1
                store = store_module.Store(_Faulty(client, data.draw(FAULT_SCHEDULE)), "edgemedic-fuzz")
                dist = data.draw(st.sampled_from(["E1FUZZ", "E2FUZZ"]))
                what = data.draw(st.sampled_from(["findings", "index", "audit"]))
                try:
                    if what == "findings":
                        keys = data.draw(st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=8),
                                                  max_size=40, unique=True))
                        before = store_module.Store(client, "edgemedic-fuzz").open_findings(dist)
                        store.write_findings(dist, {k: {"rule": k, "behavior": "*", "origin": "o"} for k in keys},
                                             before)
                        expect = {f"FINDINGS#{dist}": set(keys)}
                    elif what == "index":
                        keys = data.draw(st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=8),
                                                  max_size=30, unique=True))
                        store.index_distribution(dist, [f"INDEX#API#eu-west-1#{k}" for k in keys])
                        expect = {f"INDEX#API#eu-west-1#{k}": {dist} for k in keys}
                    else:
                        record = store.audit(event_id=data.draw(st.text(string.ascii_letters, max_size=20)),
                                             distribution_id=dist, action="fuzz", result="ok")
                        expect = {record["pk"]: {record["sk"]}}
                except (store_module.StoreWriteError, ClientError) as exc:
                    tally.outcomes[("store", type(exc).__name__)] += 1
                    return
                tally.outcomes[("store", "written")] += 1
                reader = store_module.Store(client, "edgemedic-fuzz")
                for pk, sks in expect.items():
                    present = {item["sk"] for item in reader._query(pk)}
                    if what == "findings":
                        if present != sks:
                            tally.records_lost += 1
                    elif not sks <= present:
                        tally.records_lost += 1

            run()
        finally:
            store_module.time.sleep = real_sleep


TARGETS: dict[str, Callable[[Tally, int], None]] = {
    "evaluate": fuzz_evaluate, "apply": fuzz_apply, "approve": fuzz_approve, "sweep": fuzz_sweep,
    "store": fuzz_store}
