"""Every plan, on many generated distributions: CloudFront would accept it, it converges, and it never makes
Authorization reach a cache that can share responses for methods that need it (catalog v2, apigw-auth-header-dropped).

The distributions are drawn from a seeded generator (replayable: a failure names its seed): managed and custom cache
policies (shareable, Authorization or Host in the key), origin request policies (none, all-viewer, Host only),
legacy ForwardedValues, the three allowed-method sets, origin groups of two API origins, and REST methods with
AWS_IAM, Cognito, a token authorizer or none, with and without query parameters.
"""
from __future__ import annotations

import random
from dataclasses import replace

import pytest

from builders import (custom_cache_policy, inventory, method, raw_behavior, raw_config, raw_origin, rest_api)
from edgemedic import engine
from edgemedic import policies as p
from edgemedic.act.replan import evaluate_read
from edgemedic.collect import distribution_from_config
from edgemedic.findings import FixClass
from edgemedic.forwarding import authorization_reaches_origin, forwarding_of
from edgemedic.model import Authorizer
from edgemedic.plan import build_plan, converged_plan
from edgemedic.router import reachable
from edgemedic.rules.common import api_behaviors, cache_can_share, needs_authorization_header
from edgemedic.sources.build import TemplatePolicies
from edgemedic.validate import validate_config

REST = "r1e2s3t4a5"
SEEDS = range(240)
CUSTOM = {
    "cp-share": custom_cache_policy("cp-share", "share", max_ttl=300),
    "cp-auth": custom_cache_policy("cp-auth", "auth-key", max_ttl=300, headers=["Authorization"]),
    "cp-host": custom_cache_policy("cp-host", "host-key", default_ttl=60, max_ttl=300, headers=["Host"]),
}
CACHES = (p.CACHING_DISABLED, p.CACHING_OPTIMIZED, p.USE_ORIGIN_CACHE_CONTROL_HEADERS, p.AMPLIFY, *CUSTOM)
ORPS = (None, p.ALL_VIEWER, p.ALL_VIEWER_EXCEPT_HOST_HEADER, p.HOST_HEADER_ONLY, p.CORS_CUSTOM_ORIGIN,
        p.ALL_VIEWER_AND_CLOUDFRONT_2022_06)
METHOD_SETS = (("GET", "HEAD"), ("GET", "HEAD", "OPTIONS"), ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"))
TOKEN = Authorizer("tok1", "token", "TOKEN", ("method.request.header.Authorization",))
SUMMARY = {"Id": "E1PROP", "ARN": "arn:aws:cloudfront::123456789012:distribution/E1PROP",
           "DomainName": "d1.cloudfront.net", "Status": "Deployed"}
RESOLVER = TemplatePolicies(CUSTOM, {}, "not generated")


def _api(r: random.Random):
    auth = r.choice(["NONE", "AWS_IAM", "COGNITO_USER_POOLS", "CUSTOM"])
    authorizer = "tok1" if auth == "CUSTOM" else None
    items = [method(r.choice(["GET", "ANY", "POST"]), auth, authorizer=authorizer, query=r.choice([(), ("q",)]))]
    if r.random() < 0.4:
        items.append(method("POST"))
    return rest_api(REST, resources={"/api/items": items, "/api/{proxy+}": [method("GET", auth, authorizer=authorizer)]},
                    authorizers=[TOKEN])


def _config(r: random.Random) -> dict:
    api_domain = f"{REST}.execute-api.us-east-1.amazonaws.com"
    origins = [raw_origin("api", api_domain, path=r.choice(["/prod", ""]),
                          protocol=r.choice(["https-only", "match-viewer"]), ssl=r.choice([("TLSv1.2",), ("TLSv1",)])),
               raw_origin("api2", api_domain, path="/prod"), raw_origin("site", "site.s3.amazonaws.com", protocol=None)]
    behaviors = []
    for pattern, target in (("/api/*", r.choice(["api", "group"])), ("*", r.choice(["site", "api"]))):
        methods = r.choice(METHOD_SETS if target != "group" else METHOD_SETS[:2])  # CloudFront refuses writes there
        if r.random() < 0.3:
            headers = tuple(r.sample(["Host", "Authorization", "Origin"], r.randint(0, 2))) or r.choice([(), ("*",)])
            behaviors.append(raw_behavior(pattern, target, legacy_headers=headers, methods=methods,
                                          ttls=r.choice([(0, 86400, 31536000), (0, 0, 0), (0, 0, 300)])))
        else:
            behaviors.append(raw_behavior(pattern, target, cache=r.choice(CACHES), orp=r.choice(ORPS), methods=methods,
                                          viewer=r.choice(["redirect-to-https", "allow-all", "https-only"])))
    config = raw_config(origins=origins, behaviors=behaviors, aliases=r.choice([(), ("shop.example.com",)]))
    config["OriginGroups"] = {"Quantity": 1, "Items": [{
        "Id": "group", "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [503]}},
        "Members": {"Quantity": 2, "Items": [{"OriginId": "api"}, {"OriginId": "api2"}]}}]}
    return config


def _shared_authorization(dist, inv) -> set[str]:
    """Behaviors where Authorization reaches methods (that GET routes to) needing it while the cache can keep a
    response without it in its key."""
    found = set()
    for ab in api_behaviors(dist, inv):
        b = ab.behavior
        forwarding = forwarding_of(b)
        if forwarding.unknown or b.legacy is not None:  # legacy settings key every forwarded header
            continue
        reach = reachable(dist, b, inv, origin_id=ab.origin.id)
        needs = any(needs_authorization_header(r.api, r.method) and r.method.http_method in ("GET", "ANY")
                    for r in reach.reaches)
        if needs and authorization_reaches_origin(b, "GET", forwarding) and cache_can_share(b):
            found.add(b.path_pattern)
    return found


@pytest.mark.parametrize("classes", [frozenset({FixClass.AUTO}), frozenset({FixClass.AUTO, FixClass.APPROVE})],
                         ids=["auto", "auto+approve"])
def test_generated_plans_are_valid_converge_and_share_no_authorized_response(classes) -> None:
    planned = 0
    for seed in SEEDS:
        r = random.Random(seed)
        config, api = _config(r), _api(r)
        dist = distribution_from_config(SUMMARY, config, "ETAG", RESOLVER, {})
        inv = inventory(dist, apis=[api])
        before = _shared_authorization(dist, inv)
        findings = engine.evaluate(dist, inv)
        # One round, as the Lambda handlers plan, and converged, as `edgemedic fix` does.
        one = build_plan(dist, findings, classes=classes)
        built = converged_plan(dist, findings, classes=classes,
                               evaluate=lambda cfg: evaluate_read(dist, cfg, "ETAG", inv, RESOLVER)[1])
        if built is None:
            assert one is None, seed
            continue
        planned += 1
        for each in (one, built):
            assert validate_config(each.new_config, original=config) == [], seed
            fresh, after = evaluate_read(dist, each.new_config, "ETAG", inv, RESOLVER)
            assert _shared_authorization(fresh, replace(inv, distributions=(fresh,))) <= before, seed
        left = [f"{f.rule}@{f.behavior}" for f in after if f.fix.fix_class in classes and f.fix.changes]
        assert left == [], (seed, left)
    assert planned > len(SEEDS) // 2  # the generator does reach the rules
