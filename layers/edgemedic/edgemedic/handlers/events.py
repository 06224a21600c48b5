"""The events edgemedic reacts to: EventBridge "AWS API Call via CloudTrail" envelopes, parsed with Powertools'
parser, and what each change points at (a distribution, an API, a custom domain, a policy).

    event = parse_change(raw)                 # MalformedEventError when it is not a CloudTrail API call
    targets = targets_of(event.detail)        # Targets(distribution_ids=("E1...",), ...)

Field names follow CloudTrail's record (``requestParameters`` mirror the API in lowerCamelCase). CloudTrail may
append the API version to CloudFront event names (``UpdateDistribution2014_01_31``): ``operation`` strips it.
API Gateway v1 and v2 calls share ``eventSource: apigateway.amazonaws.com`` (../shared/reference/aws-facts.md 7.2).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SessionIssuer(_Open):
    type: str | None = None
    arn: str | None = None
    userName: str | None = None


class SessionContext(_Open):
    sessionIssuer: SessionIssuer | None = None


class UserIdentity(_Open):
    type: str | None = None
    arn: str | None = None
    accountId: str | None = None
    invokedBy: str | None = None
    sessionContext: SessionContext | None = None


class CloudTrailDetail(_Open):
    """The CloudTrail record of one API call (the EventBridge ``detail``)."""

    eventID: str
    eventName: str
    eventSource: str
    awsRegion: str
    eventTime: str | None = None
    userIdentity: UserIdentity = UserIdentity()
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: str | None = None
    readOnly: bool | None = None
    apiVersion: str | None = None

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


class CloudTrailChange(EventBridgeModel):
    """EventBridge envelope whose detail is a CloudTrail record."""

    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")  # type: ignore[assignment]
    detail: CloudTrailDetail  # type: ignore[assignment]


def parse_change(raw: Any) -> CloudTrailChange:
    """Parse and validate; a payload that is not a CloudTrail API call raises MalformedEventError."""
    if not isinstance(raw, Mapping):
        raise MalformedEventError(f"event is a {type(raw).__name__}, not an EventBridge JSON object")
    try:
        return parse(event=dict(raw), model=CloudTrailChange)
    except (ValidationError, ValueError, TypeError) as exc:
        raise MalformedEventError(f"event {raw.get('id', '?')} is not an 'AWS API Call via CloudTrail' "
                                  f"event edgemedic can read: {_first_error(exc)}") from exc


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ValidationError):
        return _first_error(cause)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def is_own_change(detail: CloudTrailDetail, own_role_arns: tuple[str, ...]) -> bool:
    """The loop guard: a change made by one of edgemedic's roles (its fix, seen coming back)."""
    if not own_role_arns:
        return False
    issuer = detail.userIdentity.sessionContext.sessionIssuer if detail.userIdentity.sessionContext else None
    candidates = {detail.userIdentity.arn or "", issuer.arn if issuer and issuer.arn else ""}
    return any(arn in own_role_arns for arn in candidates if arn)


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


def targets_of(detail: CloudTrailDetail) -> Targets:
    """What to re-evaluate after this change (never the event's copy of the config: only ids)."""
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
