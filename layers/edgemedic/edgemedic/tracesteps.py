"""The trace steps of catalog v2's five new rules, as plain tuples that ``edgemedic.trace`` turns into its failures
and warnings (kept here so that trace.py only calls them).

- ``identity_failures``: an API key or authorizer identity header the method needs, dropped at the edge.
- ``lambda_url_failure``: a function URL receiving the viewer's Host.
- ``preflight_note``: an OPTIONS preflight served from the edge cache without the CORS headers in the key.
- ``timeout_note``: CloudFront's origin response timeout reached before the backend's own.
- ``error_page_note``: a custom error response replacing the error the viewer would get.

Each returns ``(cause, by, status, short, text)`` for a failure, or ``(cause, text)`` for a warning; causes are the
keys trace's ``_RULES_FOR`` maps to catalog rules.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from .model import ApiMethod, ApiProtocol, Api, Behavior, Distribution, Inventory, Origin, OriginKind
from .rules.cors import CORS_KEY_HEADERS, key_headers
from .rules.errorpages import masking_responses
from .rules.identity import identity_headers
from .rules.passthrough import header_at_origin, reaches_origin_unmodified

FailureParts = tuple[str, str, "int | None", str, str]


def identity_failures(headers: Sequence[tuple[str, str]], behavior: Behavior, origin: Origin, api: Api,
                      method: ApiMethod) -> list[FailureParts]:
    """API Gateway's answer when a header the method is authorized with is missing or dropped at the edge."""
    given = {name.lower() for name, _ in headers}
    failures: list[FailureParts] = []
    needed, _ = identity_headers(api, method)
    for header in needed:
        status, body = (403, '{"message":"Forbidden"}') if header.api_key else (401, '{"message":"Unauthorized"}')
        if header.name not in given:
            at_origin = header_at_origin(behavior, origin, header.name)
            if at_origin.reaches and "custom header" in at_origin.source:
                continue  # CloudFront adds it itself
            failures.append(("no-identity", "API Gateway", status, f"{header.name} missing",
                             f"{body}: the method needs {header.name} ({header.why}) and the request has none "
                             f"(add -H '{header.name}: ...')"))
            continue
        at_origin = header_at_origin(behavior, origin, header.name)
        if at_origin.reaches is False and reaches_origin_unmodified(behavior):
            failures.append(("identity-dropped", "API Gateway", status, f"{header.name} dropped at the edge",
                             f"{body}: CloudFront drops {header.name} at the edge (neither in the cache key nor "
                             f"forwarded by the origin request policy nor an origin custom header), and the method "
                             f"needs it ({header.why})"))
    return failures


def lambda_url_failure(behavior: Behavior, origin: Origin, host: str, host_source: str | None) -> FailureParts | None:
    """A function URL origin receiving a Host other than its own name."""
    if origin.kind is not OriginKind.LAMBDA_URL or not host_source or host.lower() == origin.domain_name.lower():
        return None
    if not reaches_origin_unmodified(behavior):
        return None
    return ("lambda-url-host", "CloudFront", 502, "function URL gets the viewer's Host",
            f"{host_source} sends Host {host} to the function URL {origin.domain_name}, which answers only to its "
            f"own name: CloudFront checks the function URL's certificate against {host} (502), and the function "
            "never runs")


def preflight_note(method: str, headers: Sequence[tuple[str, str]], behavior: Behavior,
                   cached: bool) -> tuple[str, str] | None:
    """A browser's preflight answered from the cache whose key lacks the CORS request headers."""
    if method != "OPTIONS" or not cached:
        return None
    keyed = key_headers(behavior)
    missing = [h for h in CORS_KEY_HEADERS if h not in keyed and "*" not in keyed]
    if not missing:
        return None
    origin_header = next((value for name, value in headers if name.lower() == "origin"), None)
    who = f"for Origin {origin_header}" if origin_header else "for this request"
    return ("cors-preflight", f"the preflight is served from the edge cache, whose key lacks {', '.join(missing)}: "
                              f"the Access-Control-Allow-* headers {who} may be those cached for another origin or "
                              "request")


def timeout_note(origin: Origin, inv: Inventory, method: ApiMethod | None = None,
                 api: Api | None = None) -> tuple[str, str] | None:
    """The origin response timeout is reached before the function's (or the integration's) own timeout."""
    limit = origin.read_timeout
    if origin.lambda_url is not None:
        function = inv.function_url(origin.lambda_url.region, origin.lambda_url.url_id)
        if function is None or function.timeout <= limit:
            return None
        return ("timeout", f"CloudFront gives up after {limit} s (OriginReadTimeout of origin {origin.id}); function "
                           f"{function.function_name} may run {function.timeout} s: a request slower than {limit} s "
                           "gets 504 although the function would answer")
    if api is None or method is None or api.protocol is not ApiProtocol.REST or method.integration_timeout_ms is None:
        return None
    if method.integration_timeout_ms <= limit * 1000:
        return None
    return ("timeout", f"CloudFront gives up after {limit} s (OriginReadTimeout of origin {origin.id}); the "
                       f"integration waits up to {method.integration_timeout_ms / 1000:g} s: a slower answer becomes "
                       "a 504 from CloudFront")


def error_page_note(dist: Distribution, status: int | None) -> tuple[str, str] | None:
    """The custom error response that replaces the viewer's ``status``."""
    if status is None:
        return None
    for response in masking_responses(dist):
        if response.error_code == status:
            code = response.response_code or str(status)
            return ("error-page", f"CloudFront replaces this {status} with {response.response_page_path} (status "
                                  f"{code}, a custom error response of the distribution): the client never sees the "
                                  "API's own answer")
    return None


def with_identity_headers(request: Any, api: Api, method: ApiMethod) -> Any:
    """``request`` (a ``trace.Request``) with the identity headers the method needs (for the one-line traces of
    findings: the failing request is the one a correct client sends)."""
    needed, _ = identity_headers(api, method)
    extra = [(h.name, "example") for h in needed if request.header(h.name) is None]
    return dataclasses.replace(request, headers=(*request.headers, *extra)) if extra else request
