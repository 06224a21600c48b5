"""What an API method needs from the request, and whether the behavior in front of it lets it through:
the Authorization header, query strings, HTTP methods, and a SigV4 signature over the Host.

Sources: ../shared/reference/aws-facts.md sections 2 (Authorization), 5 (allowed methods), 2.6 (SigV4 and Host).
"Methods under the behavior" are the API methods ``edgemedic.router.reachable`` finds for it. When the viewer Host
is forwarded without host intent, these rules look at the API as it will be once apigw-host-forwarded's fix is in
(Host = origin domain), so one scan reports every fix the behavior needs.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterator

from ..findings import Finding, Fix, Rule, SetAllowedMethods, Severity
from ..apis import host_intent
from ..forwarding import Forwarding, authorization_reaches_origin, forwarding_of
from ..lazy import lazy_module
from ..model import (ALL_METHODS, GET_HEAD, GET_HEAD_OPTIONS, Api, ApiMethod, ApiProtocol, Behavior, Distribution,
                     Inventory)
from .common import (
    ApiBehavior,
    api_behaviors,
    approve,
    authorization_needed,
    auto,
    describe_policies,
    finding,
    manual,
    needs_authorization_header,
    pass_through_change,
    policy_fix,
)
from .routing import proposed_origin_path

if TYPE_CHECKING:
    from ..router import Reach, Reachability

router = lazy_module("edgemedic.router")  # loaded by the first check: `edgemedic rules` needs no router

_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def reach_with_path_fix(dist: Distribution, ab: ApiBehavior, inv: Inventory) -> Reachability | None:
    """The methods behind ``ab``; when no path routes but apigw-path-unroutable proposes one OriginPath, those the
    paths reach once that fix is in, with a note naming the dependency (one scan shows every layer)."""
    reach = router.reachable(dist, ab.behavior, inv, assume_host_fix=True, origin_id=ab.origin.id)
    if reach.known and not reach.reaches:
        path = proposed_origin_path(dist, ab, inv)
        if path is not None:
            fixed = router.reachable(dist, ab.behavior, inv, origin_path=path, assume_host_fix=True,
                                     origin_id=ab.origin.id)
            if fixed.known and fixed.reaches:
                return replace(fixed, notes=(*fixed.notes, (
                    f"depends on apigw-path-unroutable: these are the methods reached once OriginPath of origin "
                    f"{ab.origin.id} is {path or '(empty)'}")))
    return reach if reach.known and reach.reaches else None


def _notes(behavior: Behavior, reach: Reachability) -> tuple[str, ...]:
    return tuple(reach.notes)


def _policies(behavior: Behavior) -> str:
    if behavior.legacy is not None:
        headers = ", ".join(behavior.legacy.headers) or "none"
        return f"behavior {behavior.path_pattern} uses legacy ForwardedValues (Headers: {headers})"
    cache = behavior.cache_policy.name if behavior.cache_policy else behavior.cache_policy_id or "(none)"
    orp = behavior.origin_request_policy.name if behavior.origin_request_policy else "(none)"
    return f"behavior {behavior.path_pattern}: cache policy {cache}, origin request policy {orp}"


def _labels(reaches: list[Reach], limit: int = 6) -> str:
    labels = list(dict.fromkeys(r.label() for r in reaches))
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return ", ".join(labels[:limit]) + more


def _pass_through_fix(dist: Distribution, ab: ApiBehavior, inv: Inventory, reach: Reachability,
                      what: str) -> tuple[Fix, tuple[str, ...]]:
    behavior = ab.behavior
    change = pass_through_change(behavior, intent=reach.host_intent is not None,
                                 authorization=authorization_needed(dist, ab, inv))
    return policy_fix(dist, ab.origin, behavior, inv,
                      f"Use {describe_policies(change)} on behavior {behavior.path_pattern} so that {what} reaches "
                      "the API", change)


# --------------------------------------------------------------------------------------------- Authorization


def _stripping_verbs(behavior: Behavior, method: str, forwarding: Forwarding) -> list[str]:
    """Viewer methods CloudFront accepts for ``method`` that reach the origin without Authorization."""
    if method == "ANY":
        verbs = ["GET", "HEAD", "OPTIONS"]
    elif method in ("GET", "HEAD", "OPTIONS"):
        verbs = [method]
    else:
        return []
    return [v for v in verbs if v in behavior.allowed_methods
            and not authorization_reaches_origin(behavior, v, forwarding)]


def _denial(method: ApiMethod) -> str:
    if method.authorization_type == "AWS_IAM":
        return '403 {"message":"Missing Authentication Token"}'
    return '401 {"message":"Unauthorized"}'


def check_auth_header_dropped(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """Methods that need Authorization are reachable with GET/HEAD (or cached OPTIONS), which CloudFront strips."""
    for ab in api_behaviors(dist, inv, rule="apigw-auth-header-dropped"):
        behavior = ab.behavior
        forwarding = forwarding_of(behavior)
        if forwarding.unknown:
            continue
        reach = reach_with_path_fix(dist, ab, inv)
        if reach is None:
            continue
        hits: list[tuple[Reach, list[str]]] = []
        for r in reach.reaches:
            if needs_authorization_header(r.api, r.method):
                verbs = _stripping_verbs(behavior, r.method.http_method, forwarding)
                if verbs:
                    hits.append((r, verbs))
        if not hits:
            continue
        first, verbs = hits[0]
        cached_options = "OPTIONS" in behavior.cached_methods
        fix, fix_notes = _pass_through_fix(dist, ab, inv, reach, "the Authorization header")
        yield finding(
            AUTH_HEADER_DROPPED, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=(f"Behavior {behavior.path_pattern} strips the Authorization header on GET and HEAD"
                     + (" and on OPTIONS (OPTIONS is cached)" if cached_options else "")
                     + f", but {_labels([r for r, _ in hits])} need it"),
            symptom=(f"{verbs[0]} {first.example_path} returns {_denial(first.method)} while POST, PUT, PATCH and "
                     "DELETE keep the header"),
            fix=fix,
            evidence=(
                _policies(behavior) + ": Authorization is neither in the cache key nor forwarded by an all-viewer "
                "origin request policy",
                f"methods needing Authorization: {_labels([r for r, _ in hits])}",
            ),
            notes=_notes(behavior, reach) + fix_notes,
        )


# --------------------------------------------------------------------------------------------- query strings


def check_query_dropped(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """REST methods declare query-string parameters; the behavior forwards no query strings."""
    for ab in api_behaviors(dist, inv, rule="apigw-query-dropped"):
        behavior = ab.behavior
        forwarding = forwarding_of(behavior)
        if forwarding.unknown or forwarding.any_query_strings:
            continue
        reach = reach_with_path_fix(dist, ab, inv)
        if reach is None:
            continue
        hits = [r for r in reach.reaches if r.api.protocol is ApiProtocol.REST and r.method.query_parameters]
        if not hits:
            continue
        params = sorted({p for r in hits for p in r.method.query_parameters})
        first = hits[0]
        fix, fix_notes = _pass_through_fix(dist, ab, inv, reach, "the query string")
        yield finding(
            QUERY_DROPPED, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=(f"Behavior {behavior.path_pattern} forwards no query strings, but {_labels(hits)} declare "
                     f"query-string parameters ({', '.join(params)})"),
            symptom=(f"{first.method.http_method if first.method.http_method != 'ANY' else 'GET'} "
                     f"{first.example_path}?{first.method.query_parameters[0]}=... reaches the API without "
                     f"{first.method.query_parameters[0]}"),
            fix=fix,
            evidence=(
                _policies(behavior) + ": no query strings forwarded",
                "declared: " + "; ".join(
                    f"{r.label()} method.request.querystring.{', '.join(r.method.query_parameters)}"
                    for r in hits),
            ),
            notes=_notes(behavior, reach) + fix_notes,
        )


# --------------------------------------------------------------------------------------------- methods


def _needed_methods(reaches: tuple[Reach, ...]) -> dict[str, tuple[list[Reach], list[Reach]]]:
    """For each method CloudFront must allow: (reaches that name it explicitly, reaches of ANY / $default)."""
    needed: dict[str, tuple[list[Reach], list[Reach]]] = {}
    for r in reaches:
        if r.api.protocol is ApiProtocol.WEBSOCKET:
            continue  # the handshake is a GET
        verb = r.method.http_method
        if verb == "ANY":
            for v in (*_WRITE_METHODS, "OPTIONS"):
                needed.setdefault(v, ([], []))[1].append(r)
        elif verb in (*_WRITE_METHODS, "OPTIONS"):
            needed.setdefault(verb, ([], []))[0].append(r)
        if r.api.cors_configured:
            needed.setdefault("OPTIONS", ([], []))[0].append(r)  # API Gateway answers the CORS preflight itself
    return needed


def _methods_fix(dist: Distribution, ab: ApiBehavior, missing: list[str], explicit: list[str]) -> Fix:
    """All seven methods (auto for explicit write methods, approve when only ANY stands for them); GET,HEAD,OPTIONS
    when only OPTIONS is missing; on an origin-group behavior, write methods are refused by CloudFront: a ticket."""
    pattern = ab.behavior.path_pattern
    writes = [m for m in missing if m in _WRITE_METHODS]
    if writes and ab.group is not None:
        primary = ab.group.members[0] if ab.group.members else ab.origin.id
        return manual(
            f"Add a separate behavior for {', '.join(writes)} to origin {primary} (origin groups take no writes)",
            f"Behavior {pattern} of distribution {dist.id} targets origin group {ab.group.id}, and the API behind "
            f"its origin {ab.origin.id} implements {', '.join(writes)} under it. CloudFront refuses POST, PUT, "
            "PATCH and DELETE on a behavior whose target is an origin group (failover serves GET, HEAD and OPTIONS "
            f"only). Add a cache behavior before {pattern} whose path pattern covers the write paths, with target "
            f"origin {primary} (the group's primary), all seven allowed methods and the same policies; or send "
            "writes to the API by another host.")
    if writes:
        methods, summary = ALL_METHODS, f"Allow all seven methods on behavior {pattern} (cached methods stay GET,HEAD)"
    else:
        methods, summary = GET_HEAD_OPTIONS, f"Allow GET, HEAD and OPTIONS on behavior {pattern}"
    change = SetAllowedMethods(pattern, methods, GET_HEAD)
    explicit_writes = [m for m in explicit if m in _WRITE_METHODS]
    if explicit_writes or (not writes and explicit):
        return auto(summary, change)
    return approve(summary + " (only ANY methods stand for them: confirm that writes should pass CloudFront)",
                   change)


def check_methods_blocked(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """The behavior's AllowedMethods lack a method the API implements under its paths."""
    for ab in api_behaviors(dist, inv, rule="apigw-methods-blocked"):
        behavior = ab.behavior
        reach = reach_with_path_fix(dist, ab, inv)
        if reach is None:
            continue
        needed = _needed_methods(reach.reaches)
        missing = [m for m in ALL_METHODS if m in needed and m not in behavior.allowed_methods]
        if not missing:
            continue
        explicit = [m for m in missing if needed[m][0]]
        shown = explicit or missing
        first = (needed[shown[0]][0] or needed[shown[0]][1])[0]
        allowed = ",".join(m for m in ALL_METHODS if m in behavior.allowed_methods)
        implemented = [r for m in missing for r in (*needed[m][0], *needed[m][1])]
        notes = list(_notes(behavior, reach))
        if not explicit:
            notes.append("only ANY methods (or the $default route) stand for these methods: medium, and a person "
                         "confirms that writes should pass CloudFront")
        if ab.group is not None:
            notes.append(f"behavior {behavior.path_pattern} targets origin group {ab.group.id}; origin {ab.origin.id} "
                         "is one of its members")
        yield finding(
            METHODS_BLOCKED, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=(f"Behavior {behavior.path_pattern} allows only {allowed}, but the API implements "
                     f"{', '.join(missing)} under it ({_labels(implemented)})"),
            symptom=(f"{shown[0]} {first.example_path} returns CloudFront 403 \"This distribution is not configured "
                     "to allow the HTTP request method that was used for this request\""),
            fix=_methods_fix(dist, ab, missing, explicit),
            evidence=(
                f"behavior {behavior.path_pattern} AllowedMethods: {allowed}",
                f"API methods needing {', '.join(missing)}: {_labels(implemented)}"
                + ("; CORS is configured on the API" if any(r.api.cors_configured for r in implemented) else ""),
            ),
            notes=notes,
            severity=None if explicit else Severity.MEDIUM,
        )


# --------------------------------------------------------------------------------------------- SigV4 and Host


def check_iam_host_mismatch(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """Methods under the behavior use AWS_IAM and no alias is a custom domain mapped to the API."""
    for ab in api_behaviors(dist, inv, rule="apigw-iam-host-mismatch"):
        behavior = ab.behavior
        reach = reach_with_path_fix(dist, ab, inv)
        if reach is None or reach.host_intent is not None:
            continue
        hits = [r for r in reach.reaches if r.method.authorization_type == "AWS_IAM"]
        if not hits:
            continue
        # Without an alias there is no name to give the custom domain: the person adds one first (text says so).
        alias = (dist.aliases[0] if dist.aliases
                 else "a domain you first add to the distribution as an alternate domain name (alias)")
        api = hits[0].api
        viewer_host = dist.aliases[0] if dist.aliases else dist.domain_name
        # The alias may already be a custom domain mapped to the API while this behavior does not forward Host.
        mapped = host_intent(dist, ab.origin, inv)
        if mapped is not None:
            option = (f"(1) forward the viewer Host on this behavior (origin request policy AllViewer) so that API "
                      f"Gateway receives {mapped.name}, with an OriginPath that its API mappings route")
            why_not = (f"alias {mapped.name} is an API Gateway custom domain mapped to the API, but behavior "
                       f"{behavior.path_pattern} does not forward the viewer Host")
        else:
            option = (f"(1) create a REGIONAL API Gateway custom domain named {alias} (TLS 1.2) with a base path "
                      f"mapping to API {api.id} stage {hits[0].stage}, and forward the viewer Host on this behavior "
                      "(origin request policy AllViewer)")
            why_not = (f"no alias ({', '.join(dist.aliases) or 'none'}) is an API Gateway custom domain mapped to "
                       "the API")
        ticket = (
            f"Methods {_labels(hits)} of {api.protocol.value} API {api.id} ({api.region}) use AWS_IAM behind "
            f"behavior {behavior.path_pattern} of distribution {dist.id}. Clients sign for the CloudFront host, "
            f"CloudFront sends Host {reach.api_host}, and API Gateway checks the signature against that. Either "
            f"{option}, or (2) have clients sign their requests for {reach.api_host}, over the path API "
            f"Gateway receives: OriginPath included (e.g. {reach.origin_path or ''}{hits[0].example_path} for "
            f"{hits[0].example_path} at the edge), since SigV4 signs the path as well as the host."
        )
        yield finding(
            IAM_HOST_MISMATCH, dist, behavior=behavior.path_pattern, origin=ab.origin.id,
            message=(f"{_labels(hits)} use AWS_IAM, but requests through {behavior.path_pattern} reach API Gateway "
                     f"with Host {reach.api_host}, not the host clients sign for"),
            symptom=(f"{hits[0].method.http_method if hits[0].method.http_method != 'ANY' else 'GET'} "
                     f"https://{viewer_host}{hits[0].example_path} signed for {viewer_host} returns 403 \"The "
                     "request signature we calculated does not match the signature you provided\""),
            fix=manual((f"Put an API Gateway custom domain named {dist.aliases[0]} in front of API {api.id}"
                        if dist.aliases else f"Give the distribution an alias and put an API Gateway custom domain "
                        f"of that name in front of API {api.id}") + f", or sign for {reach.api_host}", ticket),
            evidence=(
                f"methods with AWS_IAM: {_labels(hits)}",
                f"Host at the API: {reach.api_host}; {why_not}",
                f"the methods are in stage {hits[0].stage} of {api.protocol.value} API {api.id} ({api.region})",
            ),
            notes=_notes(behavior, reach),
        )


AUTH_HEADER_DROPPED = Rule(
    id="apigw-auth-header-dropped",
    severity=Severity.HIGH,
    fix_class="auto",
    title="Methods under the behavior need the Authorization header (AWS_IAM, COGNITO_USER_POOLS, a "
          "token authorizer reading it, a JWT authorizer) and are reachable with GET or HEAD (or "
          "OPTIONS when OPTIONS is cached), but the behavior forwards Authorization neither in its "
          "cache key nor through an all-viewer origin request policy (nor legacy headers).",
    symptom="GET 401/403 Missing Authentication Token or Unauthorized while POST works.",
    remediation="Origin request policy AllViewerExceptHostHeader (AllViewer under Host intent); where"
                " the cache policy can cache (MaxTTL > 0) without Authorization in its key, also "
                "CachingDisabled, so that no response for one caller is served to another. Every fix "
                "that makes Authorization reach methods needing it obeys the same (auto).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html",
    check=check_auth_header_dropped,
)

QUERY_DROPPED = Rule(
    id="apigw-query-dropped",
    severity=Severity.MEDIUM,
    fix_class="auto",
    title="REST methods under the behavior declare query-string parameters "
          "(method.request.querystring.*) but the behavior forwards no query strings.",
    symptom="Parameters silently missing; SigV4 signatures over the query fail.",
    remediation="Origin request policy AllViewerExceptHostHeader (AllViewer under Host intent), with "
                "CachingDisabled where Authorization would otherwise reach a cache that can share it "
                "(auto).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html",
    check=check_query_dropped,
)

METHODS_BLOCKED = Rule(
    id="apigw-methods-blocked",
    severity=Severity.HIGH,
    fix_class="auto/approve/manual",
    title="The behavior's AllowedMethods (GET,HEAD or GET,HEAD,OPTIONS) lack a method the API "
          "implements under its paths: POST, PUT, PATCH, DELETE explicitly, OPTIONS when the API "
          "defines OPTIONS methods or CORS. Medium when only ANY methods (or an HTTP API's $default "
          "route) stand for the write methods. When the path is unroutable but apigw-path-unroutable "
          "proposes one OriginPath, the methods are those at the paths that fix reaches.",
    symptom='CloudFront 403 "This distribution is not configured to allow the HTTP request method '
            'that was used for this request", or 405 from the wrong origin.',
    remediation="All seven methods; cached methods stay GET,HEAD (auto for explicit write methods, "
                "approve for ANY-only; manual on an origin-group behavior: a separate behavior to the"
                " primary origin for writes).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html",
    check=check_methods_blocked,
)

IAM_HOST_MISMATCH = Rule(
    id="apigw-iam-host-mismatch",
    severity=Severity.HIGH,
    fix_class="manual",
    title="Methods under the behavior use AWS_IAM and there is no Host intent: clients sign for the "
          "CloudFront host, CloudFront rewrites Host, API Gateway verifies against its own host.",
    symptom='403 "The request signature we calculated does not match the signature you provided".',
    remediation="A regional custom domain equal to the alias on the API, Host forwarded (AllViewer), "
                "base path mapping; or clients sign for the API host and the path the API receives "
                "(manual).",
    url="https://repost.aws/knowledge-center/api-gateway-iam-sigv4-mismatch",
    check=check_iam_host_mismatch,
)

RULES: tuple[Rule, ...] = (AUTH_HEADER_DROPPED, QUERY_DROPPED, METHODS_BLOCKED, IAM_HOST_MISMATCH)
