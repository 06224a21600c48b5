"""The API Gateway endpoint an API origin reaches: its type, and whether the execute-api endpoint is enabled.

Sources: ../shared/reference/aws-facts.md sections 3.3 and 6.1 (EDGE is a second CloudFront; PRIVATE is reachable only
from a VPC), 6.3 (disableExecuteApiEndpoint) and 6.4 (custom domain mappings: longest base path wins; the stage is
bound by the mapping and is not in the URL).

The endpoint CloudFront actually calls decides EDGE vs REGIONAL: for an ``execute-api`` origin it is the API's own
endpoint; for a custom-domain origin it is the domain's (a regional custom domain reaches even an edge-optimized REST
API through its regional endpoint, per the AWS knowledge-center article on custom domain names). A PRIVATE API is
reported however it is reached.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..apis import apis_behind, domain_of_origin, domains_mapping
from ..findings import Finding, FixClass, Rule, SetOriginDomain, SetOriginPath, Severity
from ..model import Api, ApiMapping, CustomDomain, Distribution, EndpointType, Inventory, Origin, domains_key
from .common import approve, finding, is_api_origin, manual, used_by


def _endpoint_of(origin: Origin, inv: Inventory) -> tuple[EndpointType | None, str, tuple[Api, ...]]:
    """The endpoint type CloudFront reaches through ``origin``, what it belongs to, and the APIs behind."""
    behind = apis_behind(origin, inv)
    apis = tuple(entry.api for entry in behind.entries)
    if origin.api.via == "execute-api":
        if not apis:
            return None, "", ()
        return apis[0].endpoint_type, f"API {apis[0].id} ({apis[0].name})", apis
    domain = domain_of_origin(origin, inv)
    if domain is None:
        return None, "", apis
    return domain.endpoint_type, f"custom domain {domain.name}", apis


def check_edge_endpoint(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API origin reaches an edge-optimized endpoint: CloudFront in front of CloudFront."""
    for origin in dist.origins:
        if not is_api_origin(origin):
            continue
        endpoint, owner, apis = _endpoint_of(origin, inv)
        if endpoint is not EndpointType.EDGE:
            continue
        if origin.api.via == "execute-api":
            ticket = (f"Change the endpoint type of {owner} in {origin.api.region} from EDGE to REGIONAL "
                      f"(API Gateway console: API settings > Endpoint type, or `aws apigateway update-rest-api "
                      f"--rest-api-id {apis[0].id} --patch-operations op=replace,path=/endpointConfiguration/types/EDGE,"
                      f"value=REGIONAL`), then keep origin {origin.id} of distribution {dist.id} on "
                      f"{origin.domain_name}.")
        else:
            ticket = (f"Create a REGIONAL custom domain for the APIs now mapped on {owner} (or switch the domain to "
                      f"REGIONAL), and point origin {origin.id} of distribution {dist.id} at it instead of "
                      f"{origin.domain_name}.")
        yield finding(
            EDGE_ENDPOINT, dist, behavior="", origin=origin.id,
            message=f"Origin {origin.id} reaches edge-optimized {owner}, a second CloudFront distribution",
            fix=manual("Switch the API endpoint to REGIONAL", ticket),
            evidence=(f"{owner}: endpoint type EDGE", f"origin {origin.id} domain {origin.domain_name}",
                      used_by(dist, origin.id)),
        )


def check_private_endpoint(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """An API origin reaches a PRIVATE API, which only answers inside a VPC."""
    for origin in dist.origins:
        if not is_api_origin(origin):
            continue
        endpoint, owner, apis = _endpoint_of(origin, inv)
        private = [api for api in apis if api.endpoint_type is EndpointType.PRIVATE]
        if endpoint is EndpointType.PRIVATE and not private:
            evidence = [f"{owner}: endpoint type PRIVATE"]
        elif private:
            evidence = [f"API {api.id} ({api.name}) in {api.region}: endpoint type PRIVATE" for api in private]
            owner = ", ".join(f"API {api.id}" for api in private)
        else:
            continue
        ticket = (f"{owner} is PRIVATE and cannot be reached by CloudFront (origin {origin.id} of distribution "
                  f"{dist.id}). Either make it REGIONAL (endpoint configuration types REGIONAL, then redeploy) and "
                  f"keep the origin, or point origin {origin.id} at an origin CloudFront can reach that fronts the "
                  "API inside the VPC.")
        yield finding(
            PRIVATE_ENDPOINT, dist, behavior="", origin=origin.id,
            message=f"Origin {origin.id} reaches PRIVATE {owner}, which CloudFront cannot reach",
            symptom=f"Every request to origin {origin.id} fails: a PRIVATE API answers only inside its VPC",
            fix=manual("Make the API REGIONAL or use an origin CloudFront can reach", ticket),
            evidence=(*evidence, f"origin {origin.id} domain {origin.domain_name}", used_by(dist, origin.id)),
        )


# --------------------------------------------------------------------------------------------- default endpoint


@dataclass(frozen=True, slots=True)
class _Candidate:
    domain: CustomDomain
    mapping: ApiMapping
    origin_path: str | None  # None: no OriginPath keeps every request on the same API, stage and resource
    why_not: str = ""


def _join(*parts: str) -> str:
    segments = [segment for part in parts for segment in part.split("/") if segment]
    return "/" + "/".join(segments) if segments else ""


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _origin_path_via(domain: CustomDomain, mapping: ApiMapping, api: Api, current: str) -> tuple[str | None, str]:
    """The OriginPath under which ``domain``'s ``mapping`` gives every request the API, stage and resource path
    that OriginPath ``current`` gives it on the execute-api domain; (None, why) when there is none.

    On execute-api the path is ``/{stage}/{resource}`` (no stage for an HTTP API's ``$default``). Through a mapping
    with base path B it is ``/B/{resource}`` when the mapping binds the stage, ``/B/{stage}/{resource}`` when it
    does not (REST ``(none)``).
    """
    segments = _segments(current)
    if mapping.stage is None:
        new = _join(mapping.base_path, current)
    elif mapping.stage == "$default":
        if set(api.stages) - {"$default"}:
            return None, f"API {api.id} has named stages besides $default: the stage a path reaches is ambiguous"
        new = _join(mapping.base_path, current)
    elif segments and segments[0] == mapping.stage:
        new = _join(mapping.base_path, *segments[1:])
    else:
        return None, (f"the mapping binds stage {mapping.stage}, but OriginPath {current or '(empty)'} does not "
                      f"start with it: the stage comes from the viewer path, which an OriginPath cannot remove")
    # A longer base path on the same domain would take some of the requests (longest base path wins).
    for other in domain.mappings:
        if other is mapping or len(other.base_path) <= len(mapping.base_path):
            continue
        other_path, new_segments = _segments(other.base_path), _segments(new)
        shorter = min(len(other_path), len(new_segments))
        if other_path[:shorter] == new_segments[:shorter]:
            return None, f"base path /{other.base_path} (API {other.api_id}) on {domain.name} would take some requests"
    return new, ""


def _candidates(api: Api, origin: Origin, inv: Inventory) -> list[_Candidate]:
    found = []
    for domain in domains_mapping(api, inv):
        for mapping in domain.live_mappings:
            if mapping.api_id == api.id:
                path, why = _origin_path_via(domain, mapping, api, origin.origin_path)
                if domain.live_rules and path is not None:
                    # Rules come before mappings (ROUTING_RULE_THEN_API_MAPPING): which one takes a request
                    # depends on its path and headers, so no OriginPath is proposed without a person.
                    path, why = None, f"{domain.name} routes by routing rules before its mappings"
                found.append(_Candidate(domain, mapping, path, why))
    return found


def _describe(candidate: _Candidate) -> str:
    mapping = candidate.mapping
    where = (f"{candidate.domain.name} ({candidate.domain.endpoint_type}) base path "
             f"{'/' + mapping.base_path if mapping.base_path else '(none)'} -> stage {mapping.stage or '(none)'}")
    if candidate.origin_path is None:
        return f"{where}: {candidate.why_not}"
    return f"{where} with OriginPath {candidate.origin_path or '(empty)'}"


def check_default_endpoint_disabled(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """The origin is the execute-api domain of an API whose default endpoint is disabled."""
    for origin in dist.origins:
        if not is_api_origin(origin) or origin.api.via != "execute-api":
            continue
        behind = apis_behind(origin, inv)
        if not behind.entries or not behind.entries[0].api.disable_execute_api_endpoint:
            continue
        api = behind.entries[0].api
        candidates = _candidates(api, origin, inv)
        domains = {c.domain.name.lower() for c in candidates}
        notes: list[str] = []
        listing = inv.why_unreadable(domains_key(api.region))
        if listing is not None:
            notes.append(f"custom domains in {api.region} could not all be listed ({listing.what}: {listing.reason})")
        usable = [c for c in candidates if c.origin_path is not None]
        refusal = ""
        if listing is not None:
            refusal = "not every custom domain could be read"
        elif len(domains) != 1:
            refusal = "no custom domain maps the API" if not domains else f"{len(domains)} custom domains map the API"
        elif len(usable) != 1:
            refusal = ("no mapping of the domain keeps the paths CloudFront sends" if not usable
                       else "several mappings of the domain fit")
        elif usable[0].domain.endpoint_type is not EndpointType.REGIONAL:
            refusal = f"custom domain {usable[0].domain.name} is {usable[0].domain.endpoint_type}, not REGIONAL"
        elif any(alias.lower() == usable[0].domain.name.lower() for alias in dist.aliases):
            refusal = (f"{usable[0].domain.name} is also an alias of this distribution, so its DNS leads back to "
                       "CloudFront: the origin must be its regional target with Host forwarded")
        evidence = [f"API {api.id} ({api.name}) in {api.region}: disableExecuteApiEndpoint true",
                    f"origin {origin.id} domain {origin.domain_name}", used_by(dist, origin.id)]
        evidence.extend(f"candidate: {_describe(c)}" for c in candidates)
        message = (f"Origin {origin.id} calls the execute-api endpoint of API {api.id}, which has its default "
                   "endpoint disabled")
        if not refusal:
            chosen = usable[0]
            changes = [SetOriginDomain(origin.id, chosen.domain.name)]
            summary = f"Point origin {origin.id} at custom domain {chosen.domain.name}"
            if chosen.origin_path != origin.origin_path:
                changes.append(SetOriginPath(origin.id, chosen.origin_path))
                summary += f" with OriginPath {chosen.origin_path or '(empty)'}"
            yield finding(DEFAULT_ENDPOINT_DISABLED, dist, behavior="", origin=origin.id, message=message,
                          fix=approve(summary, *changes), evidence=evidence, notes=notes)
            continue
        options = "; ".join(_describe(c) for c in candidates) or "none found"
        ticket = (f"Origin {origin.id} of distribution {dist.id} points at {origin.domain_name}, but API {api.id} has "
                  f"disableExecuteApiEndpoint set, so every request is refused. Point the origin at a custom domain "
                  f"name that maps the API (set OriginPath so that OriginPath + viewer path still reaches the same "
                  f"stage and resources), or re-enable the default endpoint and redeploy. edgemedic did not propose "
                  f"a patch because {refusal}. Candidates: {options}.")
        yield finding(DEFAULT_ENDPOINT_DISABLED, dist, behavior="", origin=origin.id, message=message,
                      fix=manual("Point the origin at the API's custom domain", ticket),
                      evidence=evidence, notes=notes)


EDGE_ENDPOINT = Rule(
    id="apigw-edge-endpoint",
    severity=Severity.MEDIUM,
    fix_class=FixClass.MANUAL.value,
    title="The API behind an API origin is EDGE-optimized.",
    symptom="Two CloudFront hops: more latency, header case changes, an alias that cannot sit on "
            "both.",
    remediation="Switch the API to REGIONAL (manual).",
    url="https://repost.aws/knowledge-center/api-gateway-cloudfront-distribution",
    check=check_edge_endpoint,
)

PRIVATE_ENDPOINT = Rule(
    id="apigw-private-endpoint",
    severity=Severity.CRITICAL,
    fix_class=FixClass.MANUAL.value,
    title="The API behind an API origin is PRIVATE.",
    symptom="Unreachable from CloudFront.",
    remediation="Make it REGIONAL or use a reachable origin (manual).",
    url="https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-endpoint-types.html",
    check=check_private_endpoint,
)

DEFAULT_ENDPOINT_DISABLED = Rule(
    id="apigw-default-endpoint-disabled",
    severity=Severity.CRITICAL,
    fix_class="approve/manual",
    title="The origin is the execute-api domain but the API has disableExecuteApiEndpoint set.",
    symptom="Every request 403.",
    remediation="Point the origin at the API's custom domain (approve where exactly one custom domain"
                " maps the API, else manual).",
    url="https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-disable-default-endpoint.html",
    check=check_default_endpoint_disabled,
)

RULES: tuple[Rule, ...] = (EDGE_ENDPOINT, PRIVATE_ENDPOINT, DEFAULT_ENDPOINT_DISABLED)

__all__ = ["RULES", "EDGE_ENDPOINT", "PRIVATE_ENDPOINT", "DEFAULT_ENDPOINT_DISABLED"]
