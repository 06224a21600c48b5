"""The catalog's rules, registered explicitly in the order of ../shared/pitfalls.md (never discovered by path)."""
from __future__ import annotations

from ..findings import Rule
from . import caching, cors, endpoints, errorpages, headers, identity, lambdaurl, protocols, requests, routing, \
    timeouts, tls

CATALOG_ORDER = (
    "apigw-host-forwarded",
    "apigw-path-unroutable",
    "apigw-auth-header-dropped",
    "apigw-query-dropped",
    "apigw-methods-blocked",
    "apigw-response-cached",
    "apigw-origin-protocol",
    "apigw-edge-endpoint",
    "apigw-private-endpoint",
    "apigw-default-endpoint-disabled",
    "apigw-iam-host-mismatch",
    "apigw-viewer-http-allowed",
    "websocket-redirect-to-https",
    "websocket-handshake-dropped",
    "origin-tls-name-mismatch",
    "origin-tls-cert-invalid",
    "origin-tls-protocols",
    "behavior-shadowed",
    "lambda-url-host-forwarded",
    "apigw-identity-header-dropped",
    "apigw-cors-preflight-cached",
    "origin-timeout-short",
    "custom-error-masks-api",
)


def _registry() -> tuple[Rule, ...]:
    by_id: dict[str, Rule] = {}
    for module in (headers, routing, requests, caching, protocols, endpoints, tls,
                   lambdaurl, identity, cors, timeouts, errorpages):
        for rule in module.RULES:
            if rule.id in by_id:
                raise RuntimeError(f"rule id {rule.id} registered twice")
            by_id[rule.id] = rule
    missing = [rule_id for rule_id in CATALOG_ORDER if rule_id not in by_id]
    extra = sorted(set(by_id) - set(CATALOG_ORDER))
    if missing or extra:
        raise RuntimeError(f"rule registry out of step with the catalog: missing {missing}, unknown {extra}")
    return tuple(by_id[rule_id] for rule_id in CATALOG_ORDER)


RULES: tuple[Rule, ...] = _registry()
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

__all__ = ["RULES", "RULES_BY_ID", "CATALOG_ORDER"]
