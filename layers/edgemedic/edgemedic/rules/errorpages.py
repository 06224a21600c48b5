"""Custom error responses, which belong to the whole distribution, replacing an API's error responses with a page.

Source (../shared/reference/aws-facts.md section 11.10): custom error responses apply to error responses of every
behavior and origin (GeneratingCustomErrorResponses.html), so an SPA fallback (403/404 -> /index.html, 200) also
rewrites the API's errors. The fix moves the fallback into a CloudFront Function on the static behaviors, which
only they run; the ticket carries its code (cloudfront-js-2.0, written in ES5.1 so that it is also valid
cloudfront-js-1.0).
"""
from __future__ import annotations

import json
from typing import Iterator

from ..findings import Finding, Rule, Severity
from ..lazy import lazy_module
from ..model import CustomErrorResponse, Distribution, Inventory, OriginKind
from .common import api_behaviors, finding, manual

pathmatch = lazy_module("edgemedic.pathmatch")  # loaded by the first check: `edgemedic rules` needs no pathmatch

FUNCTION_RUNTIME = "cloudfront-js-2.0"


def masking_responses(dist: Distribution) -> tuple[CustomErrorResponse, ...]:
    """Custom error responses that replace a 4xx or 5xx response with a page."""
    return tuple(e for e in dist.custom_error_responses if e.response_page_path and 400 <= e.error_code <= 599)


def spa_fallback_function(page: str) -> str:
    """A viewer-request CloudFront Function serving ``page`` for app routes (paths whose last segment has no dot),
    leaving files (``/assets/app.js``, ``/favicon.ico``) alone, so that a missing file still gets its real 403/404.
    """
    # Block comments only: the code stays valid where a ticket or chat view joins its lines.
    return "\n".join((
        "/* SPA fallback: viewer-request function for the behaviors that serve the single-page app.",
        "   App routes (no file extension in the last path segment) get the app's page; files are left alone.",
        "   Do not associate it with API behaviors: their responses, errors included, must reach clients as sent. */",
        "function handler(event) {",
        "    var request = event.request;",
        "    var uri = request.uri;",
        "    var last = uri.substring(uri.lastIndexOf('/') + 1);",
        "    if (last.indexOf('.') === -1) {",
        f"        request.uri = {json.dumps(page)};",
        "    }",
        "    return request;",
        "}",
    )) + "\n"


def _describe(e: CustomErrorResponse) -> str:
    return f"{e.error_code} -> {e.response_page_path} ({e.response_code or 'status kept'})"


def check_custom_error_masks_api(dist: Distribution, inv: Inventory) -> Iterator[Finding]:
    """The distribution replaces error responses with a page and has an API behavior."""
    masking = masking_responses(dist)
    if not masking:
        return
    apis = list(api_behaviors(dist, inv))
    if not apis:
        return
    first = apis[0]
    codes = ", ".join(str(e.error_code) for e in masking)
    fallbacks = [e for e in masking if e.response_code == "200"]
    example = next((e for e in masking if e.error_code in (403, 401, 404)), masking[0])
    statics = [b for b in dist.behaviors
               if (o := dist.origin(b.target_origin_id)) is not None
               and o.kind not in (OriginKind.API_GATEWAY, OriginKind.LAMBDA_URL)]
    api_list = ", ".join(f"{ab.behavior.path_pattern} (origin {ab.origin.id})" for ab in apis)
    replaced = "; ".join(_describe(e) for e in masking)
    if fallbacks:
        page = fallbacks[0].response_page_path
        serving, _ = pathmatch.select_behavior(dist, page)
        targets = ", ".join(f"{b.path_pattern} (origin {b.target_origin_id})" for b in statics) or \
            f"{serving.path_pattern} (origin {serving.target_origin_id})"
        summary = (f"Serve the single-page fallback {page} from a CloudFront Function on the static behaviors and "
                   "remove the custom error responses")
        ticket = (
            f"Distribution {dist.id} has custom error responses ({replaced}). They apply to every behavior, so the "
            f"API behind {api_list} never reaches clients with its own errors: a 401, 403 or 404 from the API "
            f"arrives as {page} with status {fallbacks[0].response_code}.\n\n"
            f"1. Create a CloudFront Function (runtime {FUNCTION_RUNTIME}) named spa-fallback with the code below, "
            "and publish it.\n"
            f"2. Associate it (event type viewer-request) with the behaviors that serve the app: {targets}. Not with "
            f"{', '.join(ab.behavior.path_pattern for ab in apis)}.\n"
            f"3. Remove the custom error responses for {codes} (console: Error pages).\n"
            "4. Check: an app route such as /settings still loads the app, and a request under "
            f"{first.behavior.path_pattern} without credentials returns the API's own status and JSON.\n\n"
            f"```javascript\n{spa_fallback_function(page)}```"
        )
        symptom = (f"API errors reach clients as {page} with status {fallbacks[0].response_code}: JSON clients fail "
                   "with 'Unexpected token <', retries never see the real status")
    else:
        summary = "Stop replacing error responses distribution-wide: serve the error pages from the static origin"
        ticket = (
            f"Distribution {dist.id} has custom error responses ({replaced}). They apply to every behavior, so the "
            f"API behind {api_list} reaches clients with these HTML pages instead of its own error bodies. Remove "
            f"the custom error responses for {codes} and let the static origin serve its own error pages (for S3, "
            "the website ErrorDocument or an object at the page's path), or move the API to a distribution "
            "without custom error responses."
        )
        symptom = (f"API errors reach clients as HTML error pages instead of the API's JSON (e.g. "
                   f"{example.error_code} -> {example.response_page_path})")
    yield finding(
        CUSTOM_ERROR_MASKS_API, dist, behavior=first.behavior.path_pattern, origin=first.origin.id,
        message=(f"Custom error responses of distribution {dist.id} ({codes}) also replace the errors of its API "
                 f"behavior{'s' if len(apis) > 1 else ''} {', '.join(ab.behavior.path_pattern for ab in apis)}"),
        symptom=symptom,
        fix=manual(summary, ticket),
        evidence=(f"CustomErrorResponses: {replaced}",
                  f"API behaviors: {api_list}",
                  "custom error responses belong to the distribution and apply to every behavior"),
    )


CUSTOM_ERROR_MASKS_API = Rule(
    id="custom-error-masks-api",
    severity=Severity.MEDIUM,
    fix_class="manual",
    title=("The distribution has custom error responses that replace 4xx or 5xx responses with a page "
          "(ResponsePagePath), and it has an API behavior: custom error responses apply to every behavior."),
    symptom=("API errors reach clients as the page, often 200 with index.html: Unexpected token < in JSON clients, "
             "retries that never see the real status."),
    remediation=("Serve the single-page fallback from a CloudFront Function on the static behaviors and remove the "
                 "custom error responses; the ticket carries the function (manual)."),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/GeneratingCustomErrorResponses.html",
    check=check_custom_error_masks_api,
)

RULES: tuple[Rule, ...] = (CUSTOM_ERROR_MASKS_API,)

__all__ = ["RULES", "CUSTOM_ERROR_MASKS_API", "masking_responses", "spa_fallback_function", "FUNCTION_RUNTIME"]
