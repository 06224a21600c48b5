"""Run the SAM app locally on the emulator: the real ``functions/*/app.py`` handlers, with the stack's DynamoDB
table, the FIFO apply queue and Powertools' settings made in moto, a Slack stand-in on 127.0.0.1, and the
CloudTrail events a person's change would produce.

    with environment(powertools_env("edgemedic-demo")), Emulator() as emu, SlackStandIn() as slack:
        stack = start(emu, table="edgemedic-demo", api_regions=("us-east-1", "eu-west-1"), slack=slack,
                      approvers=["U024BE7LH"], signing_secret="...")
        stack.evaluate(load_event("cloudfront-update-distribution.json", distribution=dist_id))
        stack.drain()                                  # the apply function consumes the queue
        stack.approve(button_click(plan_id, user_id="U024BE7LH", ...))   # a signed click, then drain() again
    runtime.reset()

Used by ``edgemedic demo`` and ``tests/e2e``. Needs the ``demo`` extra; ``load_event`` alone reads a checkout's
``events/``. Nothing happens at import time.
"""
from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import logging
import os
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from .errors import EdgemedicError

if TYPE_CHECKING:
    from .aws import Clients
    from .emulator import Emulator
    from .handlers.runtime import Runtime

ACCOUNT = "111122223333"
REGION = "us-east-1"
APPLY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/edgemedic-ApplyFunctionRole-EXAMPLE"
APPLY_QUEUE = "edgemedic-apply.fifo"
_FUNCTIONS: dict[str, ModuleType] = {}
_LOADS = itertools.count(1)


class AppNotFoundError(EdgemedicError):
    """A function or an events/ file that is not there (events/ is in a checkout only)."""


def app_root() -> Path:
    """The project checkout holding ``events/`` (``EDGEMEDIC_APP_ROOT`` overrides)."""
    root = Path(os.environ.get("EDGEMEDIC_APP_ROOT") or Path(__file__).resolve().parents[3])
    if not (root / "events").is_dir():
        raise AppNotFoundError(
            f"no events/ folder at {root}: run from a checkout of edgemedic (pip install -e .) or set "
            "EDGEMEDIC_APP_ROOT to one")
    return root


# --------------------------------------------------------------------------------------------- functions


def load_function(name: str, *, fresh: bool = False) -> ModuleType:
    """The handler module of function ``name`` (``edgemedic.functions.<name>``, which ``functions/<name>/app.py``
    re-exports), imported once per process as Lambda does per execution environment.

    ``fresh=True`` imports a new copy (a new execution environment: its own Powertools Logger wiring)."""
    from . import functions

    if name in _FUNCTIONS and not fresh:
        return _FUNCTIONS[name]
    if name not in functions.NAMES:
        raise AppNotFoundError(f"no function {name!r}: the functions are {', '.join(functions.NAMES)}")
    suffix = f"_{next(_LOADS)}" if fresh else ""
    path = Path(functions.__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"edgemedic_fn_{name}{suffix}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does: dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    if not fresh:
        _FUNCTIONS[name] = module
    return module


@dataclass
class LambdaContext:
    """The parts of Lambda's context object Powertools reads."""

    function_name: str = "edgemedic-evaluate"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:edgemedic-evaluate"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 120_000

    @classmethod
    def of(cls, function: str) -> "LambdaContext":
        return cls(f"edgemedic-{function}", invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
                                                                  f"edgemedic-{function}")


def powertools_env(service: str) -> dict[str, str]:
    """What the template sets for Powertools, with X-Ray off (no daemon here)."""
    return {"POWERTOOLS_SERVICE_NAME": service, "POWERTOOLS_METRICS_NAMESPACE": "edgemedic",
            "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"}


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables inside the block; restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------------------------- events


def load_event(name: str, **ids: str) -> dict:
    """An ``events/`` file with the ids of resources made on the emulator (the rest is the real-shaped record).

    ``ids``: distribution, restApiId, resourceId, apiId, domainName, region."""
    event = json.loads((app_root() / "events" / name).read_text())
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


CONSOLE_AGENT = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/121.0.0.0 Safari/537.36")
CLI_AGENT = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython"
TERRAFORM_AGENT = ("APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 "
                   "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0")
CLOUDFORMATION_AGENT = "cloudformation.amazonaws.com"


@dataclass(frozen=True)
class Person:
    """Who makes a change: a session of an IAM role (``role``) named ``name``, and the tool they use."""

    name: str
    role: str = "Admin"
    agent: str = CONSOLE_AGENT
    source_ip: str = "198.51.100.24"
    invoked_by: str = ""  # e.g. cloudformation.amazonaws.com, when a service acts for them

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.role}"

    @property
    def tool(self) -> str:
        if self.invoked_by:
            return f"via {self.invoked_by}"
        return {CONSOLE_AGENT: "in the console", CLI_AGENT: "with the AWS CLI",
                TERRAFORM_AGENT: "with Terraform"}.get(self.agent, "with an SDK")

    def identity(self) -> dict[str, Any]:
        """CloudTrail's ``userIdentity`` of an assumed-role session (the shape in events/)."""
        identity: dict[str, Any] = {
            "type": "AssumedRole", "principalId": f"AROAEXAMPLEID:{self.name}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role}/{self.name}", "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEKEY",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID", "arn": self.role_arn,
                                  "accountId": ACCOUNT, "userName": self.role},
                "webIdFederationData": {},
                "attributes": {"creationDate": _iso(time.time() - 600), "mfaAuthenticated": "true"},
            },
        }
        if self.invoked_by:
            identity["invokedBy"] = self.invoked_by
        return identity


EDGEMEDIC = Person("edgemedic-ApplyFunction-EXAMPLE", role="edgemedic-ApplyFunctionRole-EXAMPLE",
                   agent="Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.11 "
                         "exec-env/AWS_Lambda_python3.11 edgemedic/0.1", source_ip="3.80.0.10")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudtrail_shape(value: Any) -> Any:
    """A boto3-shaped structure as CloudTrail records it: each key's first letter lower-cased
    (``ACMCertificateArn`` -> ``aCMCertificateArn``, ``Quantity`` -> ``quantity``)."""
    if isinstance(value, Mapping):
        return {(k[:1].lower() + k[1:]): cloudtrail_shape(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cloudtrail_shape(v) for v in value]
    return value


def _person_event(service: str, event_name: str, person: Person, *, region: str, at: float | None = None,
                  **extra: Any) -> dict:
    """The EventBridge envelope of a CloudTrail management event, shaped as events/*.json (the real records) are;
    built here rather than read from events/ so that the demo runs from an installed package too
    (tests/e2e/test_handlers.py keeps the two shapes in step)."""
    when = _iso(at if at is not None else time.time())
    detail = {
        "eventVersion": "1.09", "userIdentity": person.identity(), "eventTime": when,
        "eventSource": f"{service}.amazonaws.com", "eventName": event_name, "awsRegion": region,
        "sourceIPAddress": person.invoked_by or person.source_ip, "userAgent": person.agent,
        "requestParameters": {}, "responseElements": {}, "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()), "readOnly": False, "eventType": "AwsApiCall", **extra,
        "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
            "source": f"aws.{service}", "account": ACCOUNT, "time": when, "region": region, "resources": [],
            "detail": detail}


def update_distribution_event(person: Person, *, distribution_id: str, domain_name: str, config: Mapping[str, Any],
                              if_match: str, etag: str, at: float | None = None) -> dict:
    """The EventBridge event of ``person``'s UpdateDistribution(Id, IfMatch, DistributionConfig) -> ETag, shaped as
    events/cloudfront-update-distribution.json (CloudTrail hides the comment, as it does in the real record)."""
    event = _person_event("cloudfront", "UpdateDistribution", person, region=REGION, at=at, apiVersion="2020_05_31")
    recorded = cloudtrail_shape({**config, "Comment": "HIDDEN_DUE_TO_SECURITY_REASONS"})
    detail = event["detail"]
    detail["requestParameters"] = {"id": distribution_id, "ifMatch": if_match, "distributionConfig": recorded}
    modified = datetime.fromisoformat(detail["eventTime"].replace("Z", "+00:00"))
    detail["responseElements"] = {
        "distribution": {
            "activeTrustedSigners": {"quantity": 0, "enabled": False}, "id": distribution_id,
            "domainName": domain_name, "distributionConfig": recorded,
            "aRN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution_id}", "status": "InProgress",
            # as CloudTrail writes it: "Feb 2, 2024 7:26:01 PM"
            "lastModifiedTime": f"{modified:%b} {modified.day}, {modified:%Y} {modified.hour % 12 or 12}:"
                                f"{modified:%M:%S %p}",
            "activeTrustedKeyGroups": {"enabled": False, "quantity": 0}, "inProgressInvalidationBatches": 0,
        },
        "eTag": etag,
    }
    return event


def put_method_event(person: Person, *, region: str, rest_api_id: str, resource_id: str, http_method: str,
                     authorization_type: str, at: float | None = None) -> dict:
    """The EventBridge event of ``person``'s API Gateway PutMethod, shaped as events/apigateway-put-method.json."""
    event = _person_event("apigateway", "PutMethod", person, region=region, at=at)
    detail = event["detail"]
    detail["requestParameters"] = {"restApiId": rest_api_id, "resourceId": resource_id, "httpMethod": http_method,
                                   "authorizationType": authorization_type, "apiKeyRequired": False}
    detail["responseElements"] = {"httpMethod": http_method, "authorizationType": authorization_type,
                                  "apiKeyRequired": False}
    return event


# --------------------------------------------------------------------------------------------- the stack


def create_table(clients: "Clients", name: str) -> None:
    """The stack's table as the template declares it: ``pk``/``sk`` strings, on demand."""
    clients.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])


def create_apply_queue(clients: "Clients", name: str = APPLY_QUEUE) -> str:
    return clients.client("sqs").create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]


@dataclass
class Stack:
    """The deployed app on the emulator: deliver events to evaluate, drain the apply queue into apply."""

    emu: "Emulator"
    clients: "Clients"
    rt: "Runtime"
    queue_url: str
    notifier: Any
    table: str = "edgemedic"
    function: Callable[[str], ModuleType] = load_function
    signing_secret: str = ""  # Slack's, when the stack talks to a Slack stand-in
    apply_calls: Counter = field(default_factory=Counter)  # AWS calls made inside the apply function

    def evaluate(self, event: Any) -> dict:
        return self.function("evaluate").lambda_handler(event, LambdaContext())

    def approve(self, body: str, *, signed_with: str | None = None, at: float | None = None) -> dict:
        """POST /slack/actions to the approve function's URL as Slack sends it: signed with the app's signing
        secret (or ``signed_with``) at ``at`` (default now). Returns the function URL's HTTP answer."""
        secret = self.signing_secret if signed_with is None else signed_with
        headers = sign_slack_request(secret, body, time.time() if at is None else at)
        return self.function("approve").lambda_handler(function_url_event(body, headers), LambdaContext.of("approve"))

    def sweep(self) -> dict:
        event = {"version": "0", "id": "5f2c0d1e-sweep", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": ACCOUNT, "time": "2024-03-05T12:00:00Z", "region": REGION, "resources": [],
                 "detail": {}}
        return self.function("sweep").lambda_handler(event, LambdaContext("edgemedic-sweep"))

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
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{APPLY_QUEUE}", "awsRegion": REGION,
            }
            before = self.emu.calls.copy()
            response = self.function("apply").lambda_handler({"Records": [record]}, LambdaContext("edgemedic-apply"))
            self.apply_calls += self.emu.calls - before
            assert response == {"batchItemFailures": []}, response
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            results.append(json.loads(message["Body"]))

    def queued(self) -> int:
        attrs = self.clients.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def items(self) -> list[dict]:
        return self.clients.client("dynamodb").scan(TableName=self.table)["Items"]

    def config(self, dist_id: str) -> dict:
        return self.clients.cloudfront().get_distribution_config(Id=dist_id)["DistributionConfig"]

    def updates(self) -> int:
        return sum(n for (service, op), n in self.emu.calls.items()
                   if service == "cloudfront" and op.startswith("UpdateDistribution"))

    def audit(self, dist_id: str | None) -> list[dict]:
        """The distribution's audit records, oldest first."""
        return sorted(self.rt.store.audit_log(dist_id), key=lambda r: r["sk"])


def start(emu: "Emulator", *, table: str = "edgemedic", api_regions: Sequence[str] = (REGION,),
          own_roles: Sequence[str] = (APPLY_ROLE_ARN,), notifier: Any = None, environ: Mapping[str, str] = (),
          function: Callable[[str], ModuleType] = load_function, slack: "SlackStandIn | None" = None,
          approvers: Sequence[str] = (), signing_secret: str = "") -> Stack:
    """Create the table and the apply queue on ``emu`` and point the handlers' runtime at them.

    With ``slack``, the Slack secret (bot token, channel, ``signing_secret``) is stored in Secrets Manager and the
    functions post to the stand-in; ``approvers`` are Slack user ids. ``environ`` adds to the settings the template
    sets (MODE_*, RULE_MODES, DRY_RUN, ...)."""
    from .handlers import runtime

    clients = emu.clients()
    create_table(clients, table)
    queue_url = create_apply_queue(clients)
    settings = {"TABLE_NAME": table, "APPLY_QUEUE_URL": queue_url, "OWN_ROLE_ARNS": ",".join(own_roles),
                "API_REGIONS": ",".join(api_regions)}
    if slack is not None:
        arn = clients.client("secretsmanager").create_secret(Name=f"{table}/slack", SecretString=json.dumps({
            "signing_secret": signing_secret, "bot_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "channel": slack.channel}))["ARN"]
        settings.update(SLACK_SECRET_ARN=arn, SLACK_API_URL=slack.api_url, SLACK_APPROVERS=",".join(approvers))
    settings.update(environ)
    rt = runtime.configure(clients=clients, environ=settings, notifier=notifier)
    return Stack(emu, clients, rt, queue_url, rt.notifier, table, function, signing_secret)


# --------------------------------------------------------------------------------------------- Slack


@dataclass
class Received:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    answer: bytes = b""  # what the stand-in answered

    def json(self) -> Any:
        return json.loads(self.body)


class SlackStandIn:
    """Slack's Web API and response URLs on 127.0.0.1: answers ``chat.postMessage`` / ``chat.update`` like Slack
    (``ok``, channel, ts) and ``POST /actions/...`` like a response URL (``ok``); keeps every request.

        with SlackStandIn() as slack:
            SlackNotifier(token="xoxb-…", channel=slack.channel, api_url=slack.api_url).post(message)
    """

    channel = "C024BE91L"

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                with stand_in._lock:
                    status, payload, kind = stand_in._answer(path, body)
                    stand_in.requests.append(Received("POST", path, dict(self.headers.items()), body, payload))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-stand-in", daemon=True)

    def _answer(self, path: str, body: bytes) -> tuple[int, bytes, str]:
        if path in ("/api/chat.postMessage", "/api/chat.update"):
            sent = json.loads(body or b"{}")
            ts = sent.get("ts") or f"{1706901961 + next(self._ts)}.000100"
            answer = {"ok": True, "channel": sent.get("channel", self.channel), "ts": ts,
                      "message": {"text": sent.get("text", ""), "blocks": sent.get("blocks", [])}}
            return 200, json.dumps(answer).encode(), "application/json; charset=utf-8"
        if path.startswith("/actions/"):
            return 200, b"ok", "text/plain"
        return 404, json.dumps({"ok": False, "error": "unknown_method"}).encode(), "application/json"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/actions/T9TK3CUKW/{name}"

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> "SlackStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------------------------- approvals


def sign_slack_request(signing_secret: str, body: str, timestamp: float) -> dict[str, str]:
    """The headers Slack sends: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` (slack_sdk's scheme)."""
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(timestamp))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}


def button_click(plan_id: str, *, user_id: str, user_name: str, channel: str, message_ts: str,
                 response_url: str, approve: bool = True) -> str:
    """The form body of a ``block_actions`` interactivity request for edgemedic's Approve / Reject button."""
    from .notify.slack import ACTIONS_BLOCK_ID, APPROVE_ACTION_ID, REJECT_ACTION_ID

    payload = {
        "type": "block_actions", "team": {"id": "T9TK3CUKW", "domain": "example"},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": "T9TK3CUKW"},
        "api_app_id": "A0EDGEMEDIC", "token": "deprecated-verification-token", "trigger_id": "1337.42.abcd",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "cloudfront"}, "response_url": response_url,
        "actions": [{"action_id": APPROVE_ACTION_ID if approve else REJECT_ACTION_ID,
                     "block_id": ACTIONS_BLOCK_ID, "value": plan_id, "type": "button",
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def function_url_event(body: str, headers: Mapping[str, str], *, path: str = "/slack/actions") -> dict:
    """A Lambda Function URL request (payload format 2.0) carrying ``body``."""
    now = time.time()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/x-www-form-urlencoded", "user-agent": "Slackbot 1.0 "
                    "(+https://api.slack.com/robots)", "host": "abcdefg.lambda-url.us-east-1.on.aws",
                    **{k.lower(): v for k, v in headers.items()}},
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefg", "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefg", "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                                "sourceIp": "54.209.0.1", "userAgent": "Slackbot 1.0"},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": datetime.fromtimestamp(now, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000)},
        "body": body, "isBase64Encoded": False}


# --------------------------------------------------------------------------------------------- logs


class CloudWatchSink:
    """What the functions print (JSON log lines, EMF metrics), kept instead of shown; ``metrics()`` sums them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.lines.extend(line for line in done if line.strip())
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def records(self) -> list[dict]:
        out = []
        for line in self.lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    def logs(self) -> list[dict]:
        return [r for r in self.records() if "_aws" not in r]

    def metrics(self) -> Counter:
        totals: Counter = Counter()
        for record in self.records():
            for directive in (record.get("_aws") or {}).get("CloudWatchMetrics", ()):
                for metric in directive.get("Metrics", ()):
                    value = record.get(metric["Name"], 0)
                    totals[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
        return totals


@contextlib.contextmanager
def captured_logs(sink: CloudWatchSink, service: str) -> Iterator[Callable[[], None]]:
    """Inside the block, the functions' stdout (EMF metrics) goes to ``sink``, and so do the Powertools log handlers
    after each call of the yielded ``rewire()`` (call it once a function module is loaded: its Logger binds to a
    stream then). After the block the ``edgemedic`` logger is as it was: each function's
    ``copy_config_to_registered_loggers`` rewires it."""
    package = logging.getLogger("edgemedic")
    saved = (list(package.handlers), package.level, package.propagate)
    streams: list[tuple[logging.StreamHandler, Any]] = []

    def rewire() -> None:
        for handler in {*logging.getLogger(service).handlers, *package.handlers}:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not sink:
                streams.append((handler, handler.setStream(sink)))

    try:
        with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
            yield rewire
    finally:
        for handler, stream in reversed(streams):
            handler.setStream(stream)
        package.handlers[:] = saved[0]
        package.setLevel(saved[1])
        package.propagate = saved[2]


def fresh_functions(after_load: Callable[[], None] = lambda: None) -> Callable[[str], ModuleType]:
    """A loader that imports each function once for this run (a new execution environment per run)."""
    loaded: dict[str, ModuleType] = {}

    def function(name: str) -> ModuleType:
        if name not in loaded:
            loaded[name] = load_function(name, fresh=True)
            after_load()
        return loaded[name]

    return function


__all__ = [
    "APPLY_ROLE_ARN", "AppNotFoundError", "CloudWatchSink", "EDGEMEDIC", "LambdaContext", "Person", "SlackStandIn",
    "Stack", "app_root", "button_click", "captured_logs", "cloudtrail_shape", "create_apply_queue", "create_table",
    "environment", "fresh_functions", "function_url_event", "load_event", "load_function", "powertools_env",
    "put_method_event", "sign_slack_request", "start", "update_distribution_event",
]
