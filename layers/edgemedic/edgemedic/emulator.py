"""An embedded AWS emulator: moto's ``mock_aws`` plus the CloudFront behavior moto lacks, as AWS documents it.

Used by ``edgemedic demo`` and the functional tests. Everything is installed as botocore event hooks on the
clients of :attr:`Emulator.session`, so edgemedic's own code runs unchanged against it.

Gaps of moto 5.2 that it fills (sources: ../shared/reference/aws-facts.md):

- **ETags and If-Match** (section 9; CloudFront API reference, ``UpdateDistribution``): moto accepts any
  ``IfMatch`` and never changes a distribution's ETag. Here every distribution has an ETag that changes on each
  successful UpdateDistribution; a stale ``IfMatch`` answers HTTP 412 ``PreconditionFailed`` ("The request failed
  because it didn't meet the preconditions in one or more request-header fields."); a missing one answers HTTP 400
  ``InvalidIfMatchVersion``. The same holds for DeleteDistribution.
- **Cache and origin request policies** (section 1; API reference ``GetCachePolicy``, ``ListCachePolicies``,
  ``GetOriginRequestPolicy``...): moto has none. Managed policies are answered from ``edgemedic.policies`` (matched by
  id); custom ones are stored by ``CreateCachePolicy`` / ``CreateOriginRequestPolicy``. Unknown ids answer 404
  ``NoSuchCachePolicy`` / ``NoSuchOriginRequestPolicy``, also when a distribution names one.
- **Behavior shape** (API reference ``CacheBehavior``): AWS returns either a ``CachePolicyId`` or the legacy
  ``ForwardedValues`` + TTLs, never both, and no empty ids; moto returns both and ``CachePolicyId: ""``. Answers are
  normalised. Legacy TTLs left out of a request take AWS's documented defaults (``DefaultTTL`` 86400,
  ``MaxTTL`` 31536000, ``MinTTL`` 0) where moto stores 0. moto also drops ``FunctionAssociations`` and
  ``LambdaFunctionAssociations``: they are kept and returned.
- **AssumeRole** (IAM User Guide, "Troubleshooting IAM roles"; STS API reference, ``AssumeRole``): moto hands out
  credentials for any role ARN, even one that does not exist. Here AssumeRole answers HTTP 403 ``AccessDenied``
  ("User: ... is not authorized to perform: sts:AssumeRole on resource: ...") when the role does not exist in the
  target account, or when its trust policy requires an ``sts:ExternalId`` the caller did not pass. The trust
  policy's principals are not evaluated. Credentials from AssumeRole reach moto's resources of the role's account
  (moto maps the temporary access key to the account in the role ARN), through these same gap-fillers.
- **Lambda function URLs** (Lambda API reference, ``ListFunctionUrlConfigs``): moto has GetFunctionUrlConfig but
  no ListFunctionUrlConfigs. It is answered here from moto's own GetFunctionUrlConfig: a list of zero or one URL
  config (moto keeps one URL per function; AWS allows one per qualifier), ``FunctionUrl`` ending in ``/`` as AWS
  writes it, and 404 ``ResourceNotFoundException`` for an unknown function.
- **Multi-tenant distributions** (2025; CloudFront API reference ``DistributionConfig.ConnectionMode``,
  ``CreateDistributionTenant``, ``ListDistributionTenants``): moto drops ``ConnectionMode`` and has no tenants.
  ``ConnectionMode`` is kept and returned; tenants are stored by CreateDistributionTenant and listed, filtered by
  ``AssociationFilter.DistributionId``, with their ``Domains`` as AWS returns them (``Status: active``).
- **Routing rules** (2025; API Gateway Developer Guide rest-api-routing-rules.html, set-routing-mode.html; the
  apigatewayv2 operations CreateRoutingRule / ListRoutingRules and ``routingMode`` / ``RoutingMode`` on custom
  domains): moto has none and drops the routing mode. The mode given to CreateDomainName (v1 or v2) is kept and
  returned by GetDomainName(s); rules are stored by CreateRoutingRule and listed in priority order.
- **Throttling** (section 9: error code ``Throttling``, message ``Rate exceeded``, HTTP 400): :meth:`Emulator.throttle`
  answers the next N HTTP attempts of an operation with it at the HTTP layer, so botocore's ``standard`` retry mode
  really backs off and retries, and surfaces the error once its attempts are spent.

Example::

    with Emulator() as emu:
        clients = emu.clients()
        cloudfront = clients.cloudfront()
        ...
        emu.human_edit(dist_id, lambda config: config.update(Comment="edited by a person"))
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections import Counter
from datetime import datetime, timezone
from io import BytesIO
from typing import Any, Callable, Mapping

import boto3
from botocore.awsrequest import AWSResponse

from . import policies
from .aws import CLOUDFRONT_REGION, Clients
from .model import CachePolicy, OriginRequestPolicy
from .shape import behaviors, normalise_behavior

_FAKE_ACCOUNT = "123456789012"
_PRECONDITION_FAILED = "The request failed because it didn't meet the preconditions in one or more request-header fields."
_IF_MATCH_INVALID = "The If-Match version is missing or not valid for the resource."
_DIST_OPS_WITH_CONFIG = ("CreateDistribution", "CreateDistributionWithTags", "UpdateDistribution")
# Defaults of the legacy TTL fields, from the CloudFront API reference (CacheBehavior.DefaultTTL / MaxTTL).
_LEGACY_TTL_DEFAULTS = (("MinTTL", 0), ("DefaultTTL", 86400), ("MaxTTL", 31536000))
# Managed policies that leave compression out of the cache key (AWS's managed cache policy page).
_NO_GZIP = {policies.CACHING_DISABLED, policies.CACHING_OPTIMIZED_UNCOMPRESSED}
_NO_BROTLI = _NO_GZIP | {policies.ELEMENTAL_MEDIA_PACKAGE}
_UNPREFIXED_MANAGED_NAMES = {policies.USE_ORIGIN_CACHE_CONTROL_HEADERS, policies.USE_ORIGIN_CACHE_CONTROL_HEADERS_QS}


class _RawBody(BytesIO):
    """A response body as botocore reads it from urllib3 (``stream()``)."""

    def stream(self, **kwargs: Any) -> Any:
        yield self.read()


class _ShortCircuit:
    """A botocore answer built here instead of by moto: (http response, parsed dict) as before-call expects."""

    @staticmethod
    def ok(parsed: dict, status: int = 200, etag: str | None = None) -> tuple[AWSResponse, dict]:
        headers = {"etag": etag} if etag else {}
        parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": headers, "RetryAttempts": 0,
                                      "RequestId": "edgemedic-emulator"}
        if etag:
            parsed["ETag"] = etag
        return AWSResponse("https://cloudfront.amazonaws.com/", status, headers, _RawBody(b"")), parsed

    @staticmethod
    def error(code: str, message: str, status: int) -> tuple[AWSResponse, dict]:
        parsed = {
            "Error": {"Type": "Sender", "Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0,
                                 "RequestId": "edgemedic-emulator"},
        }
        return AWSResponse("https://cloudfront.amazonaws.com/", status, {}, _RawBody(b"")), parsed


def _items(values: Any) -> dict:
    values = sorted(values)
    return {"Quantity": len(values), "Items": values} if values else {"Quantity": 0}


def _headers_and_queries(policy: CachePolicy | OriginRequestPolicy) -> tuple[dict, dict]:
    """The HeadersConfig and QueryStringsConfig of a policy, as AWS writes them (no Items when empty)."""
    headers: dict = {"HeaderBehavior": policy.header_behavior}
    if policy.headers:
        headers["Headers"] = _items(policy.headers)
    queries: dict = {"QueryStringBehavior": policy.query_string_behavior}
    if policy.query_strings:
        queries["QueryStrings"] = _items(policy.query_strings)
    return headers, queries


def managed_cache_policy_config(policy: CachePolicy) -> dict:
    """A managed cache policy in the ``CachePolicyConfig`` shape GetCachePolicy returns."""
    name = policy.name if policy.id in _UNPREFIXED_MANAGED_NAMES else f"Managed-{policy.name}"
    headers, queries = _headers_and_queries(policy)
    return {
        "Comment": f"Managed policy {policy.name}",
        "Name": name,
        "MinTTL": policy.min_ttl,
        "DefaultTTL": policy.default_ttl,
        "MaxTTL": policy.max_ttl,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": policy.id not in _NO_GZIP,
            "EnableAcceptEncodingBrotli": policy.id not in _NO_BROTLI,
            "HeadersConfig": headers,
            "CookiesConfig": {"CookieBehavior": policy.cookie_behavior},
            "QueryStringsConfig": queries,
        },
    }


def managed_origin_request_policy_config(policy: OriginRequestPolicy) -> dict:
    """A managed origin request policy in the ``OriginRequestPolicyConfig`` shape."""
    headers, queries = _headers_and_queries(policy)
    return {
        "Comment": f"Managed policy {policy.name}",
        "Name": f"Managed-{policy.name}",
        "HeadersConfig": headers,
        "CookiesConfig": {"CookieBehavior": policy.cookie_behavior},
        "QueryStringsConfig": queries,
    }


def _trusted_external_ids(document: Any) -> set[str]:
    """The ``sts:ExternalId`` values a role's trust policy requires (empty: none required)."""
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    wanted: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        for values in (statement.get("Condition") or {}).values():
            value = values.get("sts:ExternalId")
            if value is not None:
                wanted.update([value] if isinstance(value, str) else value)
    return wanted


def _pattern(behavior: Mapping) -> str:
    return behavior.get("PathPattern") or "*"


class FunctionUrlLister:
    """ListFunctionUrlConfigs, which moto lacks, answered from moto's GetFunctionUrlConfig (see the module doc).

    ``lambda_client(region)`` gives a Lambda client that reaches moto without these hooks (in-process or a moto
    server). ``install(events)`` puts the answer on a botocore event system (a session's or a client's).
    """

    def __init__(self, lambda_client: Callable[[str], Any]):
        self._client = lambda_client

    def install(self, events: Any) -> None:
        events.register("before-parameter-build.lambda.ListFunctionUrlConfigs", self._keep_params)
        events.register("before-call.lambda.ListFunctionUrlConfigs", self._answer)

    @staticmethod
    def _keep_params(params: dict, context: dict, **kwargs: Any) -> None:
        context["edgemedic_params"] = params

    def _answer(self, model: Any, context: dict, **kwargs: Any) -> tuple:
        from botocore.exceptions import ClientError

        region = context.get("client_region") or "us-east-1"
        name = context.get("edgemedic_params", {}).get("FunctionName", "")
        client = self._client(region)
        try:
            config = client.get_function_url_config(FunctionName=name)
        except ClientError:
            try:  # the function exists but has no URL: an empty list
                client.get_function_configuration(FunctionName=name)
            except ClientError:
                return _ShortCircuit.error("ResourceNotFoundException", f"Function not found: {name}", 404)
            return _ShortCircuit.ok({"FunctionUrlConfigs": []})
        item = {key: config[key] for key in ("FunctionUrl", "FunctionArn", "AuthType", "CreationTime",
                                            "LastModifiedTime", "InvokeMode") if config.get(key) is not None}
        item["FunctionUrl"] = item["FunctionUrl"].rstrip("/") + "/"
        if config.get("Cors"):
            item["Cors"] = config["Cors"]
        return _ShortCircuit.ok({"FunctionUrlConfigs": [item]})


class Emulator:
    """moto's ``mock_aws`` with CloudFront's ETags, If-Match, policies and throttling added (see module doc)."""

    def __init__(self, region: str = CLOUDFRONT_REGION):
        self.region = region
        self.calls: Counter = Counter()
        self.http_attempts: Counter = Counter()  # (service, operation) -> HTTP attempts, retries included
        self._mock: Any = None
        self.session: boto3.session.Session | None = None
        self._etags: dict[str, str] = {}
        self._revisions = itertools.count(1)
        self._cache_policies: dict[str, dict] = {}  # id -> {"Id", "LastModifiedTime", "CachePolicyConfig"}
        self._origin_request_policies: dict[str, dict] = {}
        self._policy_etags: dict[str, str] = {}
        self._associations: dict[tuple[str, str], dict] = {}  # (dist id, pattern) -> association fields
        self._connection_modes: dict[str, str] = {}  # dist id -> ConnectionMode, which moto drops
        self._tenants: list[dict] = []  # DistributionTenant records (moto has none)
        self._routing_modes: dict[str, str] = {}  # lower-cased custom domain name -> RoutingMode
        self._routing_rules: dict[str, list[dict]] = {}  # lower-cased custom domain name -> RoutingRule records
        self._throttles: Counter = Counter()
        self._internal: Any = None
        self._internal_lambda: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> "Emulator":
        from moto import mock_aws  # the demo extra; imported only when an emulator is started

        self._mock = mock_aws()
        self._mock.start()
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        self._install(self.session.events)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def clients(self, max_attempts: int = 5) -> Clients:
        """Clients whose calls go to moto through the gap-fillers (retries in botocore's standard mode)."""
        assert self.session is not None, "use the emulator as a context manager"
        return Clients(self.session, max_attempts=max_attempts, session_factory=self.session_for)

    def account_clients(self, account_id: str) -> Clients:
        """Clients acting as ``account_id`` itself (moto's ``x-moto-account-id``): to set up a member account in
        tests, e.g. the role edgemedic assumes there."""
        session = self.session_for(aws_access_key_id="testing", aws_secret_access_key="testing")

        def as_account(request: Any, **kwargs: Any) -> None:
            request.headers["x-moto-account-id"] = account_id

        session.events.register("before-sign", as_account, unique_id="edgemedic-emulator-account")
        return Clients(session, session_factory=self.session_for)

    def session_for(self, **kwargs: Any) -> boto3.session.Session:
        """A session with other credentials (an assumed role's), answered through the same gap-fillers."""
        kwargs.setdefault("region_name", self.region)
        session = boto3.session.Session(**kwargs)
        self._install(session.events)
        return session

    # ----------------------------------------------------------------------------------------- helpers for tests/demo

    def create_cache_policy(self, config: dict) -> str:
        return self._cf()["create_cache_policy"](CachePolicyConfig=config)["CachePolicy"]["Id"]

    def create_origin_request_policy(self, config: dict) -> str:
        return self._cf()["create_origin_request_policy"](OriginRequestPolicyConfig=config)["OriginRequestPolicy"]["Id"]

    def human_edit(self, distribution_id: str, mutate: Callable[[dict], None]) -> str:
        """A person's concurrent edit (console-style read-modify-write). Returns the distribution's new ETag."""
        cf = self._cf()
        current = cf["get_distribution_config"](Id=distribution_id)
        config = current["DistributionConfig"]
        mutate(config)
        return cf["update_distribution"](Id=distribution_id, IfMatch=current["ETag"], DistributionConfig=config)["ETag"]

    def throttle(self, operation: str, times: int) -> None:
        """Answer the next ``times`` HTTP attempts of ``operation`` (any service) with 400 Throttling."""
        self._throttles[operation] += times

    def etag(self, distribution_id: str) -> str | None:
        """The distribution's current ETag (as GetDistributionConfig would return it)."""
        return self._etag_for(distribution_id)

    def _cf(self) -> dict[str, Callable]:
        """The emulator's own CloudFront client: it goes through the gap-fillers but is not counted in ``calls``."""
        if self._internal is None:
            assert self.session is not None, "use the emulator as a context manager"
            client = self.session.client("cloudfront", region_name=CLOUDFRONT_REGION)
            client.meta.events.unregister("after-call", unique_id="edgemedic-emulator-count")
            client.meta.events.unregister("before-send", unique_id="edgemedic-emulator-attempts")
            self._internal = client
        client = self._internal
        return {name: getattr(client, name) for name in (
            "create_cache_policy", "create_origin_request_policy", "get_distribution_config", "update_distribution")}

    # ----------------------------------------------------------------------------------------- hooks

    def _install(self, events: Any) -> None:
        # after-call fires once per API call, for answers from moto and from here alike (before-call handlers of
        # more specific events run first and may answer, so counting there would miss those calls).
        events.register_first("after-call", self._count, unique_id="edgemedic-emulator-count")
        events.register_first("before-send", self._maybe_throttle, unique_id="edgemedic-emulator-throttle")
        events.register("before-send", self._count_attempt, unique_id="edgemedic-emulator-attempts")
        events.register("before-parameter-build.cloudfront", self._before_params)
        events.register("before-call.cloudfront", self._before_cloudfront_call)
        events.register("after-call.cloudfront", self._after_cloudfront_call)
        events.register("before-parameter-build.sts.AssumeRole", self._remember_params)
        events.register("before-call.sts.AssumeRole", self._before_assume_role)
        FunctionUrlLister(self._lambda).install(events)
        for service in ("api-gateway", "apigatewayv2"):
            events.register(f"before-parameter-build.{service}", self._before_apigw_params)
            events.register(f"before-call.{service}", self._before_apigw_call)
            events.register(f"after-call.{service}", self._after_apigw_call)

    @staticmethod
    def _operation(event_name: str) -> str:
        return event_name.rsplit(".", 1)[-1]

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.calls[(model.service_model.service_name, model.name)] += 1

    def _count_attempt(self, event_name: str, **kwargs: Any) -> None:
        parts = event_name.split(".")
        self.http_attempts[(parts[1], parts[-1])] += 1

    def _maybe_throttle(self, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        operation = self._operation(event_name)
        if self._throttles[operation] <= 0:
            return None
        self._throttles[operation] -= 1
        # moto's stubber also sees this request (botocore calls every before-send handler): point it at a
        # host moto does not serve so the throttled request has no side effect.
        request.url = "https://throttled.edgemedic.invalid/"
        service = event_name.split(".")[1]
        if service in {"api-gateway", "apigatewayv2"}:
            # rest-json services: API Gateway's own throttling answer.
            headers = {"x-amzn-errortype": "TooManyRequestsException", "content-type": "application/json"}
            return AWSResponse(request.url, 429, headers, _RawBody(b'{"message":"Too Many Requests"}'))
        if service == "acm":
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            return AWSResponse(request.url, 400, {"content-type": "application/x-amz-json-1.1"}, _RawBody(body))
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                b"</Error><RequestId>edgemedic-emulator</RequestId></ErrorResponse>")
        return AWSResponse(request.url, 400, {"content-type": "text/xml"}, _RawBody(body))

    # CloudFront: request side

    def _before_params(self, event_name: str, params: dict, context: dict, **kwargs: Any) -> None:
        operation = self._operation(event_name)
        if operation in _DIST_OPS_WITH_CONFIG:
            if operation == "CreateDistributionWithTags":
                params["DistributionConfigWithTags"] = copy.deepcopy(params["DistributionConfigWithTags"])
                config = params["DistributionConfigWithTags"]["DistributionConfig"]
            else:
                params["DistributionConfig"] = config = copy.deepcopy(params["DistributionConfig"])
            for behavior in behaviors(config):
                if not behavior.get("CachePolicyId"):
                    for key, default in _LEGACY_TTL_DEFAULTS:
                        behavior.setdefault(key, default)
            context["edgemedic_config"] = config
        context["edgemedic_params"] = params

    def _before_cloudfront_call(self, event_name: str, context: dict, **kwargs: Any) -> tuple | None:
        operation = self._operation(event_name)
        params = context.get("edgemedic_params", {})
        handler = getattr(self, f"_op_{operation}", None)
        if handler is not None:
            return handler(params)
        if operation in _DIST_OPS_WITH_CONFIG:
            problem = self._unknown_policy(context.get("edgemedic_config"))
            if problem:
                return problem
        if operation in {"UpdateDistribution", "DeleteDistribution"}:
            current = self._etag_for(params.get("Id", ""))
            if current is None:
                return None  # moto answers NoSuchDistribution
            if_match = params.get("IfMatch")
            if not if_match:
                return _ShortCircuit.error("InvalidIfMatchVersion", _IF_MATCH_INVALID, 400)
            if if_match != current:
                return _ShortCircuit.error("PreconditionFailed", _PRECONDITION_FAILED, 412)
        return None

    def _unknown_policy(self, config: Mapping | None) -> tuple | None:
        for behavior in behaviors(config):
            cache_id = behavior.get("CachePolicyId")
            if cache_id and cache_id not in policies.MANAGED_CACHE_POLICIES and cache_id not in self._cache_policies \
                    and cache_id not in policies.AMPLIFY_HOSTING_CACHE_POLICY_NAMES:
                return _ShortCircuit.error("NoSuchCachePolicy", "The cache policy does not exist.", 404)
            orp_id = behavior.get("OriginRequestPolicyId")
            if orp_id and orp_id not in policies.MANAGED_ORIGIN_REQUEST_POLICIES \
                    and orp_id not in self._origin_request_policies:
                return _ShortCircuit.error("NoSuchOriginRequestPolicy", "The origin request policy does not exist.", 404)
        return None

    # CloudFront: response side

    def _after_cloudfront_call(self, event_name: str, http_response: Any, parsed: dict, context: dict,
                               **kwargs: Any) -> None:
        if http_response.status_code >= 300:
            return
        operation = self._operation(event_name)
        if operation in _DIST_OPS_WITH_CONFIG or operation in {"GetDistribution", "GetDistributionConfig"}:
            if "Distribution" in parsed:
                dist_id = parsed["Distribution"]["Id"]
                config = parsed["Distribution"].get("DistributionConfig")
            else:
                dist_id = context.get("edgemedic_params", {}).get("Id", "")
                config = parsed.get("DistributionConfig")
            if operation in _DIST_OPS_WITH_CONFIG:
                self._etags[dist_id] = self._new_etag(dist_id)
                self._remember_associations(dist_id, context.get("edgemedic_config"))
                mode = (context.get("edgemedic_config") or {}).get("ConnectionMode")
                if mode:
                    self._connection_modes[dist_id] = mode
                else:
                    self._connection_modes.pop(dist_id, None)
            etag = self._etag_for(dist_id)
            parsed["ETag"] = etag
            parsed.get("ResponseMetadata", {}).get("HTTPHeaders", {})["etag"] = etag
            self._shape(dist_id, config)
        elif operation == "ListDistributions":
            for summary in (parsed.get("DistributionList") or {}).get("Items") or []:
                self._shape(summary["Id"], summary)
        elif operation == "DeleteDistribution":
            dist_id = context.get("edgemedic_params", {}).get("Id", "")
            self._etags.pop(dist_id, None)

    def _shape(self, dist_id: str, config: Mapping | None) -> None:
        if config is not None and dist_id in self._connection_modes:
            config["ConnectionMode"] = self._connection_modes[dist_id]  # type: ignore[index]
        for behavior in behaviors(config):
            normalise_behavior(behavior)
            behavior.update(copy.deepcopy(self._associations.get((dist_id, _pattern(behavior)), {})))

    def _remember_associations(self, dist_id: str, config: Mapping | None) -> None:
        for key in [k for k in self._associations if k[0] == dist_id]:
            del self._associations[key]
        for behavior in behaviors(config):
            kept = {k: copy.deepcopy(behavior[k]) for k in ("FunctionAssociations", "LambdaFunctionAssociations")
                    if (behavior.get(k) or {}).get("Quantity")}
            if kept:
                self._associations[(dist_id, _pattern(behavior))] = kept

    def _new_etag(self, dist_id: str) -> str:
        digest = hashlib.sha256(f"{dist_id}:{next(self._revisions)}".encode()).hexdigest().upper()
        return "E" + "".join(c for c in digest if c.isalpha() or c.isdigit())[:13]

    def _etag_for(self, dist_id: str) -> str | None:
        if dist_id not in self._etags:
            if not self._moto_has_distribution(dist_id):
                return None
            self._etags[dist_id] = self._new_etag(dist_id)
        return self._etags[dist_id]

    @staticmethod
    def _moto_has_distribution(dist_id: str) -> bool:
        from moto.cloudfront.models import cloudfront_backends

        # Every account moto holds (assumed roles reach other accounts' backends).
        return any(dist_id in backends["global"].distributions for backends in list(cloudfront_backends.values()))

    # STS: AssumeRole as AWS refuses it

    @staticmethod
    def _remember_params(params: dict, context: dict, **kwargs: Any) -> None:
        context["edgemedic_params"] = params

    def _before_assume_role(self, context: dict, **kwargs: Any) -> tuple | None:
        from moto.iam.models import iam_backends

        params = context.get("edgemedic_params", {})
        role_arn = params.get("RoleArn", "")
        parts = role_arn.split(":")
        denied = _ShortCircuit.error(
            "AccessDenied", f"User: arn:aws:sts::{_FAKE_ACCOUNT}:user/moto is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}", 403)
        if len(parts) < 6 or not parts[5].startswith("role/"):
            return None  # moto's own validation answers
        partition, account, name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
        role = next((r for r in iam_backends[account][partition].roles.values() if r.name == name), None)
        if role is None:
            return denied
        wanted = _trusted_external_ids(role.assume_role_policy_document)
        if wanted and params.get("ExternalId") not in wanted:
            return denied
        return None

    # Lambda: the operation moto does not have

    def _lambda(self, region: str) -> Any:
        """The emulator's own Lambda client for ``region`` (not counted in ``calls``)."""
        if region not in self._internal_lambda:
            assert self.session is not None, "use the emulator as a context manager"
            client = self.session.client("lambda", region_name=region)
            client.meta.events.unregister("after-call", unique_id="edgemedic-emulator-count")
            client.meta.events.unregister("before-send", unique_id="edgemedic-emulator-attempts")
            self._internal_lambda[region] = client
        return self._internal_lambda[region]

    # CloudFront: the policy operations moto does not have

    def _store_policy(self, kind: str, config: dict) -> tuple:
        store = self._cache_policies if kind == "CachePolicy" else self._origin_request_policies
        name = config.get("Name")
        if any(p[f"{kind}Config"].get("Name") == name for p in store.values()):
            code = "CachePolicyAlreadyExists" if kind == "CachePolicy" else "OriginRequestPolicyAlreadyExists"
            return _ShortCircuit.error(code, f"A policy with the name {name} already exists.", 409)
        policy_id = hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()
        policy_id = f"{policy_id[:8]}-{policy_id[8:12]}-{policy_id[12:16]}-{policy_id[16:20]}-{policy_id[20:32]}"
        store[policy_id] = {"Id": policy_id, "LastModifiedTime": datetime.now(timezone.utc),
                            f"{kind}Config": copy.deepcopy(config)}
        self._policy_etags[policy_id] = self._new_etag(policy_id)
        return _ShortCircuit.ok({kind: copy.deepcopy(store[policy_id]),
                                 "Location": f"https://cloudfront.amazonaws.com/2020-05-31/{kind.lower()}/{policy_id}"},
                                201, self._policy_etags[policy_id])

    def _cache_policy(self, policy_id: str) -> dict | None:
        if policy_id in self._cache_policies:
            return copy.deepcopy(self._cache_policies[policy_id])
        managed = policies.managed_cache_policy(policy_id)
        if managed is None:
            return None
        return {"Id": policy_id, "LastModifiedTime": datetime(2020, 10, 29, tzinfo=timezone.utc),
                "CachePolicyConfig": managed_cache_policy_config(managed)}

    def _origin_request_policy(self, policy_id: str) -> dict | None:
        if policy_id in self._origin_request_policies:
            return copy.deepcopy(self._origin_request_policies[policy_id])
        managed = policies.managed_origin_request_policy(policy_id)
        if managed is None:
            return None
        return {"Id": policy_id, "LastModifiedTime": datetime(2020, 10, 29, tzinfo=timezone.utc),
                "OriginRequestPolicyConfig": managed_origin_request_policy_config(managed)}

    def _policy_etag(self, policy_id: str) -> str:
        return self._policy_etags.setdefault(policy_id, self._new_etag(policy_id))

    # API Gateway: routing modes and routing rules, which moto does not have

    def _before_apigw_params(self, event_name: str, params: dict, context: dict, **kwargs: Any) -> None:
        operation = self._operation(event_name)
        if operation == "CreateDomainName":
            name = params.get("domainName") or params.get("DomainName") or ""
            mode = params.get("routingMode") or params.get("RoutingMode")
            if mode:
                self._routing_modes[name.lower()] = mode
        context["edgemedic_apigw_params"] = params

    def _before_apigw_call(self, event_name: str, context: dict, **kwargs: Any) -> tuple | None:
        operation = self._operation(event_name)
        params = context.get("edgemedic_apigw_params", {})
        if operation == "CreateRoutingRule":
            domain = params["DomainName"].lower()
            rule_id = hashlib.sha256(f"{domain}:{params['Priority']}".encode()).hexdigest()[:10]
            rule = {"RoutingRuleId": rule_id, "Priority": params["Priority"],
                    "RoutingRuleArn": f"arn:aws:apigateway:{self.region}::/domainnames/{domain}/routingrules/{rule_id}",
                    "Conditions": copy.deepcopy(params.get("Conditions") or []),
                    "Actions": copy.deepcopy(params["Actions"])}
            self._routing_rules.setdefault(domain, []).append(rule)
            return _ShortCircuit.ok(copy.deepcopy(rule), 201)
        if operation == "ListRoutingRules":
            rules = sorted(self._routing_rules.get(params["DomainName"].lower(), []), key=lambda r: r["Priority"])
            return _ShortCircuit.ok({"RoutingRules": copy.deepcopy(rules)})
        return None

    def _after_apigw_call(self, event_name: str, parsed: dict, **kwargs: Any) -> None:
        if self._operation(event_name) not in {"GetDomainNames", "GetDomainName", "CreateDomainName"}:
            return
        records = parsed.get("items") or parsed.get("Items") or [parsed]
        for record in records:
            name = (record.get("domainName") or record.get("DomainName") or "").lower()
            mode = self._routing_modes.get(name)
            if mode:
                record["routingMode" if "domainName" in record else "RoutingMode"] = mode

    # CloudFront: distribution tenants (multi-tenant distributions), which moto does not have

    def _op_CreateDistributionTenant(self, params: dict) -> tuple:
        dist_id = params["DistributionId"]
        if self._connection_modes.get(dist_id) != "tenant-only":
            return _ShortCircuit.error("InvalidArgument", "The distribution is not a multi-tenant distribution.", 400)
        tenant_id = "dt_" + hashlib.sha256(f"{dist_id}:{params['Name']}".encode()).hexdigest()[:27]
        now = datetime.now(timezone.utc)
        tenant = {
            "Id": tenant_id, "DistributionId": dist_id, "Name": params["Name"],
            "Arn": f"arn:aws:cloudfront::{_FAKE_ACCOUNT}:distribution-tenant/{tenant_id}",
            "Domains": [{"Domain": d["Domain"], "Status": "active"} for d in params.get("Domains") or []],
            "Parameters": copy.deepcopy(params.get("Parameters") or []),
            "CreatedTime": now, "LastModifiedTime": now, "Enabled": params.get("Enabled", True),
            "Status": "Deployed",
        }
        self._tenants.append(tenant)
        return _ShortCircuit.ok({"DistributionTenant": copy.deepcopy(tenant)}, 201, self._new_etag(tenant_id))

    def _op_ListDistributionTenants(self, params: dict) -> tuple:
        wanted = (params.get("AssociationFilter") or {}).get("DistributionId")
        found = [{k: v for k, v in t.items() if k != "Parameters"} | {"ETag": self._new_etag(t["Id"])}
                 for t in self._tenants if wanted is None or t["DistributionId"] == wanted]
        return _ShortCircuit.ok({"DistributionTenantList": copy.deepcopy(found)})

    def _op_CreateCachePolicy(self, params: dict) -> tuple:
        return self._store_policy("CachePolicy", params["CachePolicyConfig"])

    def _op_CreateOriginRequestPolicy(self, params: dict) -> tuple:
        return self._store_policy("OriginRequestPolicy", params["OriginRequestPolicyConfig"])

    def _get_policy(self, kind: str, params: dict, *, config_only: bool) -> tuple:
        """Get{kind} / Get{kind}Config: the policy (or its config) and its ETag, else NoSuch{kind} (404)."""
        policy = (self._cache_policy if kind == "CachePolicy" else self._origin_request_policy)(params["Id"])
        if policy is None:
            words = "cache policy" if kind == "CachePolicy" else "origin request policy"
            return _ShortCircuit.error(f"NoSuch{kind}", f"The {words} does not exist.", 404)
        body = {f"{kind}Config": policy[f"{kind}Config"]} if config_only else {kind: policy}
        return _ShortCircuit.ok(body, etag=self._policy_etag(params["Id"]))

    def _op_GetCachePolicy(self, params: dict) -> tuple:
        return self._get_policy("CachePolicy", params, config_only=False)

    def _op_GetCachePolicyConfig(self, params: dict) -> tuple:
        return self._get_policy("CachePolicy", params, config_only=True)

    def _op_GetOriginRequestPolicy(self, params: dict) -> tuple:
        return self._get_policy("OriginRequestPolicy", params, config_only=False)

    def _op_GetOriginRequestPolicyConfig(self, params: dict) -> tuple:
        return self._get_policy("OriginRequestPolicy", params, config_only=True)

    def _list(self, kind: str, params: dict, managed_ids: Any, custom: dict, getter: Callable) -> tuple:
        wanted = params.get("Type")
        entries = []
        if wanted in (None, "managed"):
            entries += [{"Type": "managed", kind: getter(pid)} for pid in sorted(managed_ids)]
        if wanted in (None, "custom"):
            entries += [{"Type": "custom", kind: copy.deepcopy(p)} for _, p in sorted(custom.items())]
        start = int(params.get("Marker") or 0)
        size = int(params.get("MaxItems") or 100)
        page = entries[start:start + size]
        body: dict = {"MaxItems": size, "Quantity": len(page), "Items": page}
        if start + size < len(entries):
            body["NextMarker"] = str(start + size)
        return _ShortCircuit.ok({f"{kind}List": body})

    def _op_ListCachePolicies(self, params: dict) -> tuple:
        return self._list("CachePolicy", params, policies.MANAGED_CACHE_POLICIES, self._cache_policies,
                          self._cache_policy)

    def _op_ListOriginRequestPolicies(self, params: dict) -> tuple:
        return self._list("OriginRequestPolicy", params, policies.MANAGED_ORIGIN_REQUEST_POLICIES,
                          self._origin_request_policies, self._origin_request_policy)
