"""Where requests go: behaviors whose paths reach no API method, and behaviors CloudFront can never choose.

Sources: ../shared/reference/aws-facts.md section 4 (path patterns, OriginPath) and 6 (API Gateway routing).
The matching itself lives in ``edgemedic.pathmatch`` and ``edgemedic.router``; these rules only ask them.

Decisions:
- A behavior with a viewer-request CloudFront Function, or a viewer-request / origin-request Lambda@Edge, may
  rewrite the path before it reaches the origin (stripping a prefix is the usual fix for this very problem), and
  edgemedic cannot read what the code does: ``apigw-path-unroutable`` does not fire for it (catalog "Edge
  function"; the scan warns instead).
- When the viewer Host is forwarded without host intent, API Gateway answers 403 before routing any path
  (``apigw-host-forwarded``). Paths are then judged as API Gateway will see them once that auto fix is applied
  (Host = the origin domain), like the request rules do, so one scan lists every fix a person needs: seed 000
  has both problems, and fixing Host alone still leaves "Missing Authentication Token".
- A behavior that every earlier pattern already takes is ``behavior-shadowed``'s, not ``apigw-path-unroutable``'s.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from ..findings import Finding, Fix, MoveBehavior, Rule, SetOriginPath, Severity
from ..lazy import lazy_module
from ..model import Api, ApiProtocol, Behavior, Distribution, Inventory, Origin
from .common import ApiBehavior, api_behaviors, approve, finding, manual, targets

if TYPE_CHECKING:
    from ..router import Reachability, RouteResult

# the path automata, loaded by the first check (`edgemedic rules` lists the rules without them)
pathmatch = lazy_module("edgemedic.pathmatch")
router = lazy_module("edgemedic.router")

def may_rewrite_path(behavior: Behavior) -> bool:
    """Whether code at the edge can change the path between the viewer and the origin."""
    return bool(behavior.request_functions)


# --------------------------------------------------------------------------------------------- apigw-path-unroutable


def _candidate_origin_paths(origin: Origin, inv: Inventory, reach: Reachability) -> list[str]:
    candidates = [""]
    target = origin.api
    if reach.host_intent is None and target is not None and target.via == "execute-api" and target.api_id:
        api = inv.api(target.region, target.api_id)
        if api is not None:
            candidates += ["/" + stage for stage in api.stages if stage != "$default"]
    return [c for c in dict.fromkeys(candidates) if c != reach.origin_path]


def _resources_option(result: RouteResult | None, api_path: str) -> str | None:
    """Option (3) of the ticket: the resource the API needs, as API Gateway addresses it inside the stage (a REST
    or HTTP API routes the path after the stage or mapping prefix: /api/x of /prod/api/x). None for WebSocket APIs,
    which answer only at the stage itself, and when no stage matched (then a resource would not help)."""
    if result is None or result.api is None or result.api.protocol is ApiProtocol.WEBSOCKET \
            or result.stage_path is None:
        return None
    kind = "resources" if result.api.protocol is ApiProtocol.REST else "routes"
    return (f"{kind} in stage {result.stage} of the API for the path it routes after the stage or mapping prefix, "
            f"e.g. {result.stage_path} (CloudFront sends {api_path})")


def _origin_path_fix(dist: Distribution, behavior: Behavior, origin: Origin, inv: Inventory,
                     reach: Reachability, example: str, result: RouteResult | None = None) -> Fix:
    """SetOriginPath when exactly one candidate routes the behavior and breaks no sibling, else a ticket."""
    # Every other behavior whose requests reach this origin, directly or as a member of an origin group.
    siblings = [b for b in dist.behaviors if b != behavior and not may_rewrite_path(b)
                and any(o.id == origin.id for o, _ in targets(dist, b))]
    working = [b for b in siblings if router.reachable(dist, b, inv, assume_host_fix=True, origin_id=origin.id).routable]
    fits, partial = [], []
    for candidate in _candidate_origin_paths(origin, inv, reach):
        if not router.reachable(dist, behavior, inv, origin_path=candidate, assume_host_fix=True,
                         origin_id=origin.id).routable:
            continue
        broken = [b.path_pattern for b in working
                  if not router.reachable(dist, b, inv, origin_path=candidate, assume_host_fix=True,
                                   origin_id=origin.id).routable]
        (partial if broken else fits).append((candidate, broken))
    if len(fits) == 1:
        path = fits[0][0]
        return approve(f"Set OriginPath of origin {origin.id} to {path or '(empty)'} so that {behavior.path_pattern} "
                       "reaches the API", SetOriginPath(origin.id, path))
    options = [
        f"a different OriginPath on origin {origin.id}"
        + (f" ({', '.join(repr(c) for c, _ in fits)} each work for this behavior)" if fits else "")
        + "".join(f"; OriginPath {c or '(empty)'} would break behavior(s) {', '.join(b)}" for c, b in partial),
        f"a CloudFront Function (viewer request) on {behavior.path_pattern} that strips the prefix the API does not "
        "know",
        _resources_option(result, f"{reach.origin_path}{example}"),
        "a custom domain base path mapping that matches the path CloudFront sends",
    ]
    options = [o for o in options if o]
    ticket = (f"Behavior {behavior.path_pattern} of distribution {dist.id} sends {reach.origin_path}{example} to "
              f"{reach.api_host}, which routes it nowhere. Options: " + "; ".join(f"({i}) {o}" for i, o in
                                                                                   enumerate(options, 1)) + ".")
    return manual(f"Make {behavior.path_pattern} reach the API (OriginPath, path rewrite, resources or mapping)",
                  ticket)


def proposed_origin_path(dist: Distribution, ab: ApiBehavior, inv: Inventory) -> str | None:
    """The OriginPath that apigw-path-unroutable proposes for ``ab`` (its approve fix), when it fires with one."""
    behavior, origin = ab.behavior, ab.origin
    if behavior.request_functions:
        return None
    reach = router.reachable(dist, behavior, inv, assume_host_fix=True, origin_id=origin.id)
    if not reach.known or reach.routable:
        return None
    fix = _origin_path_fix(dist, behavior, origin, inv, reach, reach.example_unroutable or "/")
    return next((c.path for c in fix.changes if isinstance(c, SetOriginPath)), None)


def check_path_unroutable(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """No viewer path through an API behavior reaches a method of the API."""
    for ab in api_behaviors(dist, inv, rule="apigw-path-unroutable"):
        behavior, origin = ab.behavior, ab.origin
        reach = router.reachable(dist, behavior, inv, assume_host_fix=True, origin_id=origin.id)
        if not reach.known or reach.routable:
            continue
        example = reach.example_unroutable or "/"
        api_path = reach.origin_path + example
        result = router.route(reach.api_host or origin.domain_name, api_path, inv, region=origin.api.region)
        if result.error == router.WEBSOCKET_HANDSHAKE_FAILED:
            symptom = f"A WebSocket connection to {example} fails its handshake ({result.explanation})"
        else:
            symptom = f"GET {example} returns {result.status} {result.error}"
        fix = _origin_path_fix(dist, behavior, origin, inv, reach, example, result)
        apis = sorted({f"{e.api.protocol.value} API {e.api.id}" for e in ab.apis.entries})
        evidence = [
            f"OriginPath of origin {origin.id}: {reach.origin_path or '(empty)'}",
            f"path at the API: {api_path} (Host {reach.api_host})"
            + (f", host intent: custom domain {reach.host_intent.name}" if reach.host_intent else ""),
            f"API Gateway: {result.explanation}",
        ]
        evidence += [_api_summary(e.api) for e in ab.apis.entries]
        yield finding(
            PATH_UNROUTABLE, dist, behavior=behavior.path_pattern, origin=origin.id,
            message=(f"No path through behavior {behavior.path_pattern} reaches a method of "
                     f"{', '.join(apis) or 'the API'}: CloudFront sends OriginPath + the full viewer path "
                     f"(e.g. {api_path}) and API Gateway routes none of them"),
            symptom=symptom, fix=fix, evidence=evidence, notes=reach.notes,
        )


def _api_summary(api: Api) -> str:
    if api.protocol is ApiProtocol.WEBSOCKET:
        return f"WebSocket API {api.id}: stages {', '.join(api.stages) or 'none'}"
    kind = "resources" if api.protocol is ApiProtocol.REST else "routes"
    names = ", ".join(dict.fromkeys(
        (m.route_key or r.path) if api.protocol is ApiProtocol.HTTP else r.path
        for r in api.resources for m in r.methods)) or "none"
    extra = ", $default route" if api.default_route is not None else ""
    return f"{api.protocol.value} API {api.id}: stages {', '.join(api.stages) or 'none'}; {kind} {names}{extra}"


# --------------------------------------------------------------------------------------------- behavior-shadowed


def _moves(dist: Distribution) -> dict[str, tuple[tuple[MoveBehavior, ...], tuple[str, ...]]]:
    """For each shadowed behavior: the moves that free it, and the behaviors the move would shadow in turn.

    Moves are planned on a working order in behavior order, so that nested shadowing (``/api/*`` before
    ``/api/v1/*`` before ``/api/v1/admin/*``) ends most specific first. A behavior's changes include the moves
    of the behaviors it is placed relative to: each fix works alone and all of them together (moves are
    idempotent).
    """
    order = [b.path_pattern for b in dist.behaviors if not b.is_default]
    plans: dict[str, tuple[tuple[MoveBehavior, ...], tuple[str, ...]]] = {}
    for pattern in list(order):
        index = order.index(pattern)
        coverer = next((p for p in order[:index] if pathmatch.covers(p, pattern)), None)
        if coverer is None:
            continue
        start = order.index(coverer)
        newly_shadowed = tuple(p for p in order[start:index] if pathmatch.covers(pattern, p))
        if newly_shadowed:
            plans[pattern] = ((), newly_shadowed)
            continue
        before_moves = plans.get(coverer, ((), ()))[0]
        plans[pattern] = ((*before_moves, MoveBehavior(pattern, coverer)), ())
        order.insert(start, order.pop(index))
    return plans


def check_shadowed(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An earlier behavior's pattern matches every path a later behavior's pattern matches."""
    plans = None
    for index, behavior in enumerate(dist.behaviors):
        shadow = pathmatch.shadowed_by(dist, behavior)
        if shadow is None:
            if not behavior.is_default and pathmatch.reaching_example(dist, behavior) is None:
                yield _shadowed_by_union(dist, behavior, index)
            continue
        plans = plans if plans is not None else _moves(dist)
        moves, newly_shadowed = plans.get(behavior.path_pattern, ((), ()))
        position = dist.behaviors.index(shadow)
        example = pathmatch.example_path(behavior.path_pattern) or behavior.path_pattern
        evidence = [
            f"behavior {shadow.path_pattern} (position {position + 1}, origin {shadow.target_origin_id}) matches "
            f"every path that {behavior.path_pattern} (position {index + 1}, origin {behavior.target_origin_id}) "
            "matches; CloudFront uses the first match",
            f"e.g. {example} is served by {shadow.path_pattern}",
        ]
        notes: list[str] = []
        if moves:
            fix = approve(f"Move behavior {behavior.path_pattern} before {moves[-1].before}", *moves)
            for other in dist.behaviors[position:index]:
                if (other.path_pattern == moves[-1].before
                        or pathmatch.covers(other.path_pattern, behavior.path_pattern)):
                    continue
                both = pathmatch.overlap(behavior.path_pattern, other.path_pattern)
                if both is not None:
                    notes.append(f"after the move, paths both {behavior.path_pattern} and {other.path_pattern} match "
                                 f"(e.g. {both}) go to {behavior.target_origin_id} instead of "
                                 f"{other.target_origin_id}")
        else:
            others = ", ".join(newly_shadowed)
            fix = manual(
                f"Remove or narrow one of the behaviors {behavior.path_pattern} and {others}",
                f"Behavior {behavior.path_pattern} of distribution {dist.id} is shadowed by {shadow.path_pattern}, "
                f"and moving it first would shadow {others} instead (the patterns match the same paths). Delete the "
                "duplicate behavior or change one of the patterns.",
            )
        yield finding(
            BEHAVIOR_SHADOWED, dist, behavior=behavior.path_pattern, origin=behavior.target_origin_id,
            message=(f"Behavior {behavior.path_pattern} is never used: the earlier behavior {shadow.path_pattern} "
                     "matches every path it matches"),
            symptom=(f"A request for {example} is answered by origin {shadow.target_origin_id} "
                     f"(behavior {shadow.path_pattern}), never by {behavior.target_origin_id}"),
            fix=fix, evidence=evidence, notes=notes,
        )


def _shadowed_by_union(dist: Distribution, behavior: Behavior, index: int) -> Finding:
    """Earlier patterns together (none alone) match every path ``behavior`` matches. The fix moves it before the
    first of them that takes any of its paths; a move that would leave another behavior unreachable is a ticket."""
    takers = [b for b in dist.behaviors[:index] if pathmatch.overlap(b.path_pattern, behavior.path_pattern) is not None]
    first = takers[0]
    evidence = [f"behaviors {', '.join(b.path_pattern for b in takers)} together match every path that "
                f"{behavior.path_pattern} (position {index + 1}, origin {behavior.target_origin_id}) matches; "
                "CloudFront uses the first match"]
    evidence += [f"e.g. {pathmatch.overlap(b.path_pattern, behavior.path_pattern)} is served by {b.path_pattern}"
                 for b in takers[:3]]
    position = dist.behaviors.index(first)
    order = [*dist.behaviors[:position], behavior, *dist.behaviors[position:index], *dist.behaviors[index + 1:]]
    lost = [b.path_pattern for b in order[position + 1:]
            if not b.is_default
            and pathmatch.example_path(b.path_pattern, tuple(o.path_pattern for o in order[:order.index(b)])) is None
            and b.path_pattern != behavior.path_pattern]
    if lost:
        fix = manual(f"Narrow {behavior.path_pattern} or the behaviors before it",
                     f"Behavior {behavior.path_pattern} of distribution {dist.id} is never used: "
                     f"{', '.join(b.path_pattern for b in takers)} together take every path it matches, and moving "
                     f"it before {first.path_pattern} would leave {', '.join(lost)} unused instead. Delete the "
                     "duplicate behavior or change the patterns.")
    else:
        fix = approve(f"Move behavior {behavior.path_pattern} before {first.path_pattern}",
                      MoveBehavior(behavior.path_pattern, first.path_pattern))
    return finding(
        BEHAVIOR_SHADOWED, dist, behavior=behavior.path_pattern, origin=behavior.target_origin_id,
        message=(f"Behavior {behavior.path_pattern} is never used: the earlier behaviors "
                 f"{', '.join(b.path_pattern for b in takers)} together match every path it matches"),
        symptom=(f"Requests meant for {behavior.path_pattern} are answered by origin "
                 f"{', '.join(dict.fromkeys(b.target_origin_id for b in takers))}, never by "
                 f"{behavior.target_origin_id}"),
        fix=fix, evidence=evidence)


PATH_UNROUTABLE = Rule(
    id="apigw-path-unroutable",
    severity=Severity.HIGH,
    fix_class="approve/manual",
    title="The behavior leads nowhere: no viewer path that its pattern matches reaches a method of "
          "the API, given the Host and path at the API (OriginPath + full viewer path; a custom "
          "domain's routing rules and API mappings as its routing mode says). REST needs the stage "
          "and a matching resource ({proxy+} matches everything below it); HTTP APIs a matching route"
          " (ANY and {proxy+} included); WebSocket APIs exactly the stage (or the mapping).",
    symptom='REST: 403 {"message":"Missing Authentication Token"}; HTTP: 404 {"message":"Not Found"};'
            " WebSocket: the handshake fails.",
    remediation="Where one OriginPath makes every resource under the pattern routable without "
                "breaking the origin's other behaviors, that OriginPath (approve); otherwise a ticket"
                " naming the options: a different OriginPath, a CloudFront Function that strips the "
                "prefix, resources under the prefix, or a base path mapping or routing rule (manual).",
    url="https://repost.aws/knowledge-center/api-gateway-domain-cloudfront",
    check=check_path_unroutable,
)

BEHAVIOR_SHADOWED = Rule(
    id="behavior-shadowed",
    severity=Severity.MEDIUM,
    fix_class="approve",
    title="A cache behavior can never be chosen because earlier behaviors' patterns, one or several "
          "together, match every path it matches (first match wins; * and ? wildcards; "
          "case-sensitive; leading / optional).",
    symptom="Requests meant for one origin go to another, e.g. API calls answered by S3 with "
            "NoSuchKey or 405.",
    remediation="Move the shadowed behavior before the first one that takes its paths (approve).",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html"
        "#DownloadDistValuesPathPattern",
    check=check_shadowed,
)

RULES: tuple[Rule, ...] = (PATH_UNROUTABLE, BEHAVIOR_SHADOWED)
