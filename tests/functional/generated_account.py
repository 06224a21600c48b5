"""A large, varied account built on the emulator from a fixed seed: the golden scan output is taken on it.

Every distribution mixes API origins (REST regional and edge, HTTP, WebSocket; right, wrong and missing stage
paths; https-only, match-viewer and http-only; TLS 1.2, old protocols) with an S3 origin, and behaviors drawn from
the setups the rules look at: managed and custom policies, legacy ForwardedValues forwarding Host, Authorization or
everything, the three method sets, the three viewer protocol policies, shadowing path patterns. Resources are
created through the APIs, so ids come from the emulator; ``mock_random.seed`` makes them the same on every run.
"""
from __future__ import annotations

import random
from typing import Any

from moto.moto_api._internal import mock_random

from edgemedic import policies, scenarios
from edgemedic.aws import Clients
from edgemedic.emulator import Emulator
from edgemedic.model import ALL_METHODS, GET_HEAD
from test_collect import HOST_CACHE_POLICY, VERSION_ORP  # the custom policies of the collect tests

SEED = 20261201
REGIONS = ("us-east-1", "eu-west-1")
PATTERNS = ("/api/*", "/api/v1/*", "/users*", "/orders/*", "/items/*", "/ws", "*.json", "/static/*", "/auth/*",
            "/v2/*", "/api/v1/admin/*", "/health")
METHOD_SETS = (GET_HEAD, ("GET", "HEAD", "OPTIONS"), ALL_METHODS)
VIEWERS = ("redirect-to-https", "https-only", "allow-all")

def _http_api(clients: Clients, region: str, n: int) -> str:
    v2 = clients.apigatewayv2(region)
    api = v2.create_api(Name=f"gen-http-{n}", ProtocolType="HTTP")["ApiId"]
    v2.create_route(ApiId=api, RouteKey="GET /items/{id}")
    v2.create_route(ApiId=api, RouteKey="POST /orders", AuthorizationType="AWS_IAM")
    if n % 2:
        v2.create_route(ApiId=api, RouteKey="$default")
    v2.create_stage(ApiId=api, StageName="$default" if n % 2 else "live")
    return api


def _apis(builder: Any, clients: Clients) -> list[tuple[str, str, str]]:
    """(domain, right origin path, kind) of each API."""
    apis = []
    for n in range(8):
        region = REGIONS[n % 2]
        if n in (0, 1, 2, 4):
            api = builder.rest_api(region, f"gen-rest-{n}", endpoint="EDGE" if n == 2 else "REGIONAL", stage="prod",
                                   resources={"/users": {"GET": "NONE", "POST": "NONE"},
                                              "/orders/{id}": {"GET": "AWS_IAM", "DELETE": "AWS_IAM"},
                                              "/api/v1/{proxy+}": {"ANY": "NONE"}})
            apis.append((scenarios.execute_api(api, region), "/prod", "rest"))
        elif n in (3, 5, 7):
            api = _http_api(clients, region, n)
            apis.append((scenarios.execute_api(api, region), "" if n % 2 else "/live", "http"))
        else:
            api = builder.websocket_api(region, f"gen-ws-{n}", stage="chat")
            apis.append((scenarios.execute_api(api, region), "/chat", "websocket"))
    return apis


def _origin(rng: random.Random, k: int, api: tuple[str, str, str]) -> dict:
    domain, path, _ = api
    origin = scenarios.custom_origin(f"api{k}", domain, path=rng.choice((path, path, "", "/wrong")))
    custom = origin["CustomOriginConfig"]
    custom["OriginProtocolPolicy"] = rng.choice(("https-only", "https-only", "match-viewer", "http-only"))
    ssl = rng.choice((["TLSv1.2"], ["TLSv1.2"], ["TLSv1", "TLSv1.1", "TLSv1.2"], ["SSLv3", "TLSv1"]))
    custom["OriginSslProtocols"] = {"Quantity": len(ssl), "Items": ssl}
    return origin


def _behavior(rng: random.Random, pattern: str | None, origin_id: str, custom: tuple[str, str]) -> dict:
    methods = rng.choice(METHOD_SETS)
    viewer = rng.choice(VIEWERS)
    if rng.random() < 0.25:
        shape = scenarios.legacy_behavior(pattern, origin_id, methods=methods, viewer=viewer)
        headers = rng.choice(((), ("Host",), ("Authorization",), ("*",), ("Host", "Authorization")))
        shape["ForwardedValues"]["Headers"] = {"Quantity": len(headers), "Items": list(headers)} if headers \
            else {"Quantity": 0}
        shape["ForwardedValues"]["QueryString"] = rng.random() < 0.5
        return shape
    cache = rng.choice((policies.CACHING_DISABLED, policies.CACHING_DISABLED, policies.CACHING_OPTIMIZED, custom[0]))
    orp = rng.choice((None, policies.ALL_VIEWER, policies.ALL_VIEWER_EXCEPT_HOST_HEADER,
                      policies.ALL_VIEWER_EXCEPT_HOST_HEADER, custom[1]))
    return scenarios.behavior(pattern, origin_id, cache=cache, orp=orp, methods=methods, viewer=viewer)


def build(emu: Emulator, distributions: int = 40) -> list[str]:
    """Create the account on ``emu``; returns the distribution ids in creation order."""
    mock_random.seed(SEED)
    rng = random.Random(SEED)
    clients = emu.clients()
    builder = scenarios._Builder(clients)
    apis = _apis(builder, clients)
    custom = (emu.create_cache_policy(HOST_CACHE_POLICY), emu.create_origin_request_policy(VERSION_ORP))
    ids = []
    for n in range(distributions):
        picked = rng.sample(apis, rng.choice((1, 2, 3)))
        origins = [_origin(rng, k, api) for k, api in enumerate(picked)]
        origins.append(scenarios.s3_origin("site", f"gen-site-{n}"))
        patterns = rng.sample(PATTERNS, rng.randint(2, 8))
        behaviors = [_behavior(rng, pattern, rng.choice(origins[:-1])["Id"], custom) for pattern in patterns]
        default_origin = rng.choice(("site", "site", origins[0]["Id"]))
        default = _behavior(rng, None, default_origin, custom)
        aliases = [f"www{n}.gen.example.com"] if rng.random() < 0.6 else []
        config = scenarios.distribution_config(f"gen-{n}", f"generated {n}", origins=origins, default=default,
                                               behaviors=behaviors, aliases=aliases)
        ids.append(builder.distribution(config))
    return ids
