"""The events edgemedic reacts to: EventBridge "AWS API Call via CloudTrail" envelopes, read through Powertools'
event source data classes, and what each change points at (a distribution, an API, a custom domain, a policy).

    event = parse_change(raw)                 # MalformedEventError when it is not a CloudTrail API call
    targets = targets_of(event.detail)        # Targets(distribution_ids=("E1...",), ...)

Field names follow CloudTrail's record (``requestParameters`` mirror the API in lowerCamelCase). CloudTrail may
append the API version to CloudFront event names (``UpdateDistribution2014_01_31``): ``operation`` strips it.
API Gateway v1 and v2 calls share ``eventSource: apigateway.amazonaws.com`` (../shared/reference/aws-facts.md 7.2).

Data classes rather than the Powertools parser: the parser and pydantic cost the evaluate function ~60 ms of cold
start, the data classes ~10 ms (benchmarks/README.md). ``_validate`` checks the fields edgemedic reads, in the
envelope's order, and names the first bad one (``detail.eventID: Field required``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Mapping

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.common import DictWrapper

from .exceptions import MalformedEventError

CLOUDFRONT_SOURCE = "cloudfront.amazonaws.com"
APIGATEWAY_SOURCE = "apigateway.amazonaws.com"
_VERSION_SUFFIX = re.compile(r"\d{4}_\d{2}_\d{2}$")

# Write calls that can change what a distribution does, by the id they carry. The template's EventBridge
# patterns match the same names (CloudFront by prefix); tests/functional/test_template.py keeps them in step.
CLOUDFRONT_EVENTS = (
    "CreateDistribution", "UpdateDistribution", "CopyDistribution", "AssociateAlias",
    "CreateCachePolicy", "UpdateCachePolicy", "CreateOriginRequestPolicy", "UpdateOriginRequestPolicy",
    "CreateResponseHeadersPolicy", "UpdateResponseHeadersPolicy",
)
APIGATEWAY_EVENTS = (
    # REST (v1)
    "UpdateRestApi", "PutRestApi", "DeleteRestApi",
    "CreateResource", "UpdateResource", "DeleteResource",
    "PutMethod", "UpdateMethod", "DeleteMethod",
    "PutIntegration", "UpdateIntegration", "DeleteIntegration",
    "CreateBasePathMapping", "UpdateBasePathMapping", "DeleteBasePathMapping",
    # HTTP / WebSocket (v2)
    "UpdateApi", "ReimportApi", "DeleteApi",
    "CreateRoute", "UpdateRoute", "DeleteRoute",
    "CreateApiMapping", "UpdateApiMapping", "DeleteApiMapping",
    # both
    "CreateAuthorizer", "UpdateAuthorizer", "DeleteAuthorizer",
    "CreateDeployment", "CreateStage", "UpdateStage", "DeleteStage",
    "CreateDomainName", "UpdateDomainName", "DeleteDomainName",
)


DETAIL_TYPE = "AWS API Call via CloudTrail"


class SessionIssuer(DictWrapper):
    @property
    def type(self) -> str | None:
        return self.get("type")

    @property
    def arn(self) -> str | None:
        return self.get("arn")

    @property
    def userName(self) -> str | None:  # noqa: N802 (CloudTrail's name)
        return self.get("userName")


class SessionContext(DictWrapper):
    @property
    def sessionIssuer(self) -> SessionIssuer | None:  # noqa: N802
        issuer = self.get("sessionIssuer")
        return None if issuer is None else SessionIssuer(issuer)


class UserIdentity(DictWrapper):
    @property
    def type(self) -> str | None:
        return self.get("type")

    @property
    def arn(self) -> str | None:
        return self.get("arn")

    @property
    def accountId(self) -> str | None:  # noqa: N802
        return self.get("accountId")

    @property
    def invokedBy(self) -> str | None:  # noqa: N802
        return self.get("invokedBy")

    @property
    def sessionContext(self) -> SessionContext | None:  # noqa: N802
        context = self.get("sessionContext")
        return None if context is None else SessionContext(context)


class CloudTrailDetail(DictWrapper):
    """The CloudTrail record of one API call (the EventBridge ``detail``), checked by ``parse_change``."""

    @property
    def eventID(self) -> str:  # noqa: N802
        return self["eventID"]

    @property
    def eventName(self) -> str:  # noqa: N802
        return self["eventName"]

    @property
    def eventSource(self) -> str:  # noqa: N802
        return self["eventSource"]

    @property
    def awsRegion(self) -> str:  # noqa: N802
        return self["awsRegion"]

    @property
    def eventTime(self) -> str | None:  # noqa: N802
        return self.get("eventTime")

    @cached_property
    def userIdentity(self) -> UserIdentity:  # noqa: N802
        return UserIdentity(self.get("userIdentity") or {})

    @property
    def requestParameters(self) -> dict[str, Any] | None:  # noqa: N802
        return self.get("requestParameters")

    @property
    def responseElements(self) -> dict[str, Any] | None:  # noqa: N802
        return self.get("responseElements")

    @property
    def errorCode(self) -> str | None:  # noqa: N802
        return self.get("errorCode")

    @property
    def readOnly(self) -> bool | None:  # noqa: N802
        return self.get("readOnly")

    @property
    def apiVersion(self) -> str | None:  # noqa: N802
        return self.get("apiVersion")

    @property
    def operation(self) -> str:
        """The API operation, without the version suffix older CloudFront records carry."""
        return _VERSION_SUFFIX.sub("", self.eventName)

    @property
    def actor(self) -> str:
        """Who made the change: the role behind an assumed-role session, else the identity's ARN."""
        issuer = self.userIdentity.sessionContext.sessionIssuer if self.userIdentity.sessionContext else None
        return (issuer.arn if issuer and issuer.arn else None) or self.userIdentity.arn or "unknown"

    @property
    def session_arn(self) -> str:
        return self.userIdentity.arn or ""


class CloudTrailChange(EventBridgeEvent):
    """EventBridge envelope whose detail is a CloudTrail record."""

    @cached_property
    def detail(self) -> CloudTrailDetail:  # type: ignore[override]
        return CloudTrailDetail(self["detail"])


def parse_change(raw: Any) -> CloudTrailChange:
    """Validate and wrap; a payload that is not a CloudTrail API call raises MalformedEventError."""
    if not isinstance(raw, Mapping):
        raise MalformedEventError(f"event is a {type(raw).__name__}, not an EventBridge JSON object")
    try:
        return CloudTrailChange(_validate(raw))
    except _Invalid as exc:
        raise MalformedEventError(f"event {raw.get('id', '?')} is not an 'AWS API Call via CloudTrail' "
                                  f"event edgemedic can read: {exc.where}: {exc.message}") from None


_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[^:]*/)?([\w+=,.@-]{1,64})$")
_SESSION_ARN = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]{1,64})/.*$")


def role_of(arn: str | None) -> tuple[str, str] | None:
    """(account, role name) of an IAM role ARN (any path, any partition) or of an STS assumed-role session ARN.

    >>> role_of("arn:aws-us-gov:iam::111122223333:role/service/edgemedic-Apply")
    ('111122223333', 'edgemedic-Apply')
    >>> role_of("arn:aws:sts::111122223333:assumed-role/edgemedic-Apply/1706901961")
    ('111122223333', 'edgemedic-Apply')

    Role names are unique in an account whatever their path, and a session ARN carries no path: comparing
    (account, name) recognises every form in which CloudTrail names a role.
    """
    for pattern in (_ROLE_ARN, _SESSION_ARN):
        found = pattern.match(arn or "")
        if found:
            return found.group(2), found.group(3)
    return None


def is_own_change(detail: CloudTrailDetail, own_role_arns: tuple[str, ...]) -> bool:
    """The loop guard: a change made by one of edgemedic's roles (its fix, seen coming back)."""
    own = {role for role in map(role_of, own_role_arns) if role}
    identity = detail.userIdentity
    issuer = identity.sessionContext.sessionIssuer if identity.sessionContext else None
    seen = {role_of(identity.arn), role_of(issuer.arn if issuer else None)}
    if issuer is not None and issuer.type == "Role" and issuer.userName:
        seen.add((identity.accountId or "", issuer.userName))
    return bool(own & seen)


_READ_PREFIXES = ("Get", "List", "Describe", "Head")


def drop_reason(detail: CloudTrailDetail, envelope_account: str, accounts: frozenset[str]) -> str | None:
    """Why an event cannot have changed anything edgemedic watches here (None: it may have). The rule patterns
    filter most of these already; the code does not rely on them (a forwarder or a hand-made rule may not)."""
    if detail.readOnly:
        return f"{detail.eventName} is a read-only call (readOnly: true): nothing changed"
    if detail.operation.startswith(_READ_PREFIXES):
        return f"{detail.eventName} is a read-only call: nothing changed"
    if detail.errorCode:
        return f"the call failed ({detail.errorCode}): nothing changed"
    if accounts:
        for where, account in (("event", envelope_account), ("recipient", detail.get("recipientAccountId"))):
            if account is not None and account not in accounts:
                return (f"the {where} account {account} is not one edgemedic watches "
                        f"({', '.join(sorted(accounts))})")
    return None


@dataclass(frozen=True, slots=True)
class Targets:
    """What a change points at. ``policies`` are CloudFront policy ids: the distributions using them are affected."""

    distribution_ids: tuple[str, ...] = ()
    apis: tuple[tuple[str, str], ...] = ()  # (region, api id)
    domains: tuple[str, ...] = ()  # API Gateway custom domain names (lower-cased)
    policies: tuple[str, ...] = ()
    reason: str = ""  # why there is nothing to evaluate, when empty

    @property
    def empty(self) -> bool:
        return not (self.distribution_ids or self.apis or self.domains or self.policies)


def _get(mapping: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = mapping
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _find_key(value: Any, key: str, depth: int = 3) -> str | None:
    """First string under ``key``, looking one or two wrappers deep (v1 layouts are not documented exactly)."""
    if not isinstance(value, Mapping) or depth < 0:
        return None
    found = value.get(key)
    if isinstance(found, str) and found:
        return found
    for child in value.values():
        nested = _find_key(child, key, depth - 1)
        if nested:
            return nested
    return None


_DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{1,64}$")
_API_ID = re.compile(r"^[a-z0-9]{1,64}$")
_POLICY_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(\*\.)?([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}\.?$")


def _checked(value: Any, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise MalformedEventError(f"the event names a {what} edgemedic cannot use: {str(value)[:80]!r}")
    return value


def targets_of(detail: CloudTrailDetail) -> Targets:
    """What to re-evaluate after this change (never the event's copy of the config: only ids).

    An id that AWS could not have issued (wrong shape, too long for a table key) raises MalformedEventError."""
    targets = _targets_of(detail)
    for dist_id in targets.distribution_ids:
        _checked(dist_id, _DISTRIBUTION_ID, "distribution id")
    for _, api_id in targets.apis:
        _checked(api_id, _API_ID, "API id")
    for domain in targets.domains:
        _checked(domain, _DOMAIN, "domain name")
    for policy in targets.policies:
        _checked(policy, _POLICY_ID, "policy id")
    return targets


def _targets_of(detail: CloudTrailDetail) -> Targets:
    op = detail.operation
    request, response = detail.requestParameters or {}, detail.responseElements or {}
    if detail.eventSource == CLOUDFRONT_SOURCE:
        if op.startswith(("CreateDistribution", "CopyDistribution")):
            dist_id = _get(response, "distribution", "id")
        elif op == "AssociateAlias":
            dist_id = request.get("targetDistributionId")
        elif op.startswith("UpdateDistribution"):
            dist_id = request.get("id")
        elif op.startswith("Update") and op.endswith("Policy"):
            policy = request.get("id")
            return Targets(policies=(policy,)) if policy else Targets(reason=f"{op} without a policy id")
        elif op.startswith("Create") and op.endswith("Policy"):
            return Targets(reason=f"{op}: a new policy is used by no distribution yet")
        else:
            return Targets(reason=f"{op} does not change a distribution")
        if not isinstance(dist_id, str) or not dist_id:
            return Targets(reason=f"{op} names no distribution id")
        return Targets(distribution_ids=(dist_id,))
    if detail.eventSource == APIGATEWAY_SOURCE:
        api_id = _find_key(request, "restApiId") or _find_key(request, "apiId")
        domain = _find_key(request, "domainName")
        apis = ((detail.awsRegion, api_id),) if api_id else ()
        domains = (domain.lower(),) if domain else ()
        if not apis and not domains:
            return Targets(reason=f"{op} names no API and no custom domain")
        return Targets(apis=apis, domains=domains)
    return Targets(reason=f"events from {detail.eventSource} are not handled")


# ------------------------------------------------------------------------------------ validation
# The EventBridge envelope (detail-type fixed to DETAIL_TYPE) and the CloudTrail record; unknown keys pass through.

class _Invalid(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


_MISSING = object()


def _validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope as a new dict with its CloudTrail record checked, or _Invalid naming the first bad field."""
    try:
        size = len(json.dumps(raw, ensure_ascii=False, default=str).encode("utf-8"))
    except UnicodeEncodeError:
        raise _Invalid("event", "holds text that is not valid Unicode (a lone surrogate)") from None
    except (TypeError, ValueError) as exc:
        raise _Invalid("event", f"is not JSON: {exc}") from None
    if size > _MAX_EVENT:
        raise _Invalid("event", f"is {size} bytes, over EventBridge's {_MAX_EVENT}")
    event = dict(raw)
    for key in ("version", "id", "source", "account"):
        _string(event, key)
    _datetime(event.get("time", _MISSING), "time")
    _string(event, "region")
    resources = _required(event, "resources")
    if not isinstance(resources, (list, tuple)):
        raise _Invalid("resources", "Input should be a valid list")
    for index, arn in enumerate(resources):
        if not isinstance(arn, str):
            raise _Invalid(f"resources.{index}", "Input should be a valid string")
    detail_type = _required(event, "detail-type")
    if detail_type != DETAIL_TYPE:
        raise _Invalid("detail-type", f"Input should be '{DETAIL_TYPE}'")
    event["detail"] = _detail(_required(event, "detail"))
    return event


# Limits of what the event's fields become: DynamoDB sort keys (1,024 bytes), SQS bodies (256 KiB), log lines.
_MAX_ID = 256
_MAX_EVENT = 256 * 1024
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def _limited(record: Mapping[str, Any], key: str, prefix: str, limit: int = _MAX_ID) -> None:
    value = record.get(key)
    if isinstance(value, str) and len(value) > limit:
        raise _Invalid(prefix + key, f"longer than {limit} characters ({len(value)})")


def _detail(detail: Any) -> dict[str, Any]:
    record = _object(detail, "detail", "CloudTrailDetail")
    for key in ("eventID", "eventName", "eventSource", "awsRegion"):
        _string(record, key, "detail.")
        _limited(record, key, "detail.")
    for key in ("eventID", "eventName", "eventSource"):
        if not record[key].strip():
            raise _Invalid(f"detail.{key}", "empty")
    if not _REGION.match(record["awsRegion"]):
        raise _Invalid("detail.awsRegion", f"not an AWS region: {record['awsRegion'][:40]!r}")
    _optional_string(record, "recipientAccountId", "detail.")
    _optional_string(record, "eventTime", "detail.")
    identity = record.get("userIdentity", _MISSING)
    if identity is not _MISSING:
        _user_identity(_object(identity, "detail.userIdentity", "UserIdentity"))
    for key in ("requestParameters", "responseElements"):
        value = record.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise _Invalid(f"detail.{key}", "Input should be a valid dictionary")
    _optional_string(record, "errorCode", "detail.")
    if "readOnly" in record:
        record["readOnly"] = _boolean(record["readOnly"], "detail.readOnly")
    _optional_string(record, "apiVersion", "detail.")
    return record


def _user_identity(identity: dict[str, Any]) -> None:
    where = "detail.userIdentity"
    for key in ("type", "arn", "accountId", "invokedBy"):
        _optional_string(identity, key, f"{where}.")
    context = identity.get("sessionContext")
    if context is None:
        return
    context = _object(context, f"{where}.sessionContext", "SessionContext")
    issuer = context.get("sessionIssuer")
    if issuer is None:
        return
    issuer = _object(issuer, f"{where}.sessionContext.sessionIssuer", "SessionIssuer")
    for key in ("type", "arn", "userName"):
        _optional_string(issuer, key, f"{where}.sessionContext.sessionIssuer.")


def _object(value: Any, where: str, model: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(where, f"Input should be a valid dictionary or instance of {model}")
    return dict(value)


def _required(mapping: Mapping[str, Any], key: str, prefix: str = "") -> Any:
    value = mapping.get(key, _MISSING)
    if value is _MISSING:
        raise _Invalid(prefix + key, "Field required")
    return value


def _string(mapping: Mapping[str, Any], key: str, prefix: str = "") -> None:
    if not isinstance(_required(mapping, key, prefix), str):
        raise _Invalid(prefix + key, "Input should be a valid string")


def _optional_string(mapping: Mapping[str, Any], key: str, prefix: str = "") -> None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        raise _Invalid(prefix + key, "Input should be a valid string")


def _boolean(value: Any, where: str) -> bool | None:
    """CloudTrail's ``readOnly``: a JSON boolean (also accepted as the strings "true"/"false")."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise _Invalid(where, "Input should be a valid boolean")


def _datetime(value: Any, where: str) -> None:
    """EventBridge's ``time``: an RFC 3339 timestamp such as ``2024-02-02T19:26:01Z``."""
    if value is _MISSING:
        raise _Invalid(where, "Field required")
    if not isinstance(value, str):
        raise _Invalid(where, "Input should be a valid datetime")
    try:
        datetime.fromisoformat(value)  # Python 3.11 reads RFC 3339, "Z" included
    except ValueError:
        raise _Invalid(where, f"Input should be a valid RFC 3339 datetime, not {value[:40]!r}") from None
