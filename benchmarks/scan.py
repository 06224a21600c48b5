"""Scan benchmark: collect + evaluate a large account on a local moto server.

    .venv/bin/python benchmarks/scan.py            # 500 distributions x 10 behaviors, 100 APIs
    .venv/bin/python benchmarks/scan.py --small    # 50 distributions, 10 APIs

moto runs as ``moto.server.ThreadedMotoServer`` on 127.0.0.1 (real HTTP, so botocore's whole stack is timed), in
this process: its CPU time is part of the wall time measured. Only managed policies are used, so CloudFront policy
APIs (which moto lacks) are never needed. Every fifth distribution has a Lambda function URL origin (10 URLs among
50 functions); ListFunctionUrlConfigs, which moto lacks, is answered by the project's emulator hook
(``edgemedic.emulator.FunctionUrlLister``) from the server's GetFunctionUrlConfig.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "edgemedic"))

from edgemedic import policies  # noqa: E402
from edgemedic.aws import Clients  # noqa: E402
from edgemedic.collect import collect  # noqa: E402

REGION = "us-east-1"
FUNCTIONS, FUNCTION_URLS = 50, 10  # in REGION; every fifth distribution has a function URL origin
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


@dataclass
class Figures:
    distributions: int
    behaviors_per_distribution: int
    apis: int
    setup_s: float = 0.0
    collect_s: float = 0.0
    engine_s: float | None = None
    findings: int | None = None
    calls: Counter = field(default_factory=Counter)
    evaluate_25_ms: float | None = None
    engine_note: str = ""

    @property
    def calls_per_distribution(self) -> float:
        return sum(self.calls.values()) / max(self.distributions, 1)


class Server:
    """moto's threaded server on a free port of 127.0.0.1; clients reach it through AWS_ENDPOINT_URL."""

    def __enter__(self) -> "Server":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request would dominate the output
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="testing")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def counted_clients(counter: Counter) -> Clients:
    """Clients whose calls are counted once each (after-call also sees the answers of the emulator hook)."""
    from edgemedic.emulator import FunctionUrlLister

    session = boto3.session.Session(region_name=REGION)
    plain = boto3.session.Session(region_name=REGION)  # the hook's own calls are not counted
    FunctionUrlLister(lambda region: plain.client("lambda", region_name=region)).install(session.events)
    session.events.register(
        "after-call", lambda model, **_: counter.update([(model.service_model.service_name, model.name)]))
    return Clients(session)


def _origin(origin_id: str, domain: str, path: str = "") -> dict:
    return {"Id": origin_id, "DomainName": domain, "OriginPath": path, "CustomOriginConfig": {
        "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
        "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}


def _behavior(origin_id: str, pattern: str | None, cache: str, orp: str | None, methods: list[str]) -> dict:
    behavior: dict[str, Any] = {
        "TargetOriginId": origin_id, "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": cache,
        "AllowedMethods": {"Quantity": len(methods), "Items": methods,
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}}
    if orp:
        behavior["OriginRequestPolicyId"] = orp
    if pattern:
        behavior["PathPattern"] = pattern
    return behavior


# A realistic mix: mostly healthy API behaviors, some with the classic faults the rules look for.
_API_BEHAVIORS = (
    (policies.CACHING_DISABLED, policies.ALL_VIEWER_EXCEPT_HOST_HEADER, ALL_METHODS),
    (policies.CACHING_DISABLED, policies.ALL_VIEWER, ALL_METHODS),  # Host forwarded
    (policies.CACHING_OPTIMIZED, None, ["GET", "HEAD"]),  # cached, methods blocked, Authorization dropped
    (policies.CACHING_DISABLED, policies.ALL_VIEWER_EXCEPT_HOST_HEADER, ["GET", "HEAD", "OPTIONS"]),
)


def distribution_config(n: int, api_domains: list[tuple[str, str]], behaviors: int,
                        function_url: str | None = None) -> dict:
    origins = [_origin(f"api{k}", domain, path) for k, (domain, path) in enumerate(api_domains)]
    if function_url:
        origins.append(_origin("fn", function_url))
    origins.append({"Id": "site", "DomainName": f"site-{n}.s3.amazonaws.com", "OriginPath": "",
                    "S3OriginConfig": {"OriginAccessIdentity": ""}})
    extra = []
    for b in range(behaviors - 1):
        cache, orp, methods = _API_BEHAVIORS[(n + b) % len(_API_BEHAVIORS)]
        extra.append(_behavior(f"api{b % len(api_domains)}", f"/svc{b}/*", cache, orp, methods))
    if function_url and extra:  # the last behavior goes to the function URL instead
        extra[-1] = _behavior("fn", "/fn/*", policies.CACHING_DISABLED, policies.ALL_VIEWER, ALL_METHODS)
    return {
        "CallerReference": f"bench-{n}", "Comment": f"bench {n}", "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [f"www{n}.bench.example.com"]},
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": _behavior("site", None, policies.CACHING_OPTIMIZED, None, ["GET", "HEAD"]),
        "CacheBehaviors": {"Quantity": len(extra), "Items": extra},
    }


def create_rest_api(clients: Clients, n: int) -> str:
    apigw = clients.apigateway(REGION)
    api = apigw.create_rest_api(name=f"bench-rest-{n}", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    proxy = apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    users = apigw.create_resource(restApiId=api, parentId=root, pathPart="users")["id"]
    apigw.put_method(restApiId=api, resourceId=proxy, httpMethod="ANY", authorizationType="AWS_IAM")
    apigw.put_method(restApiId=api, resourceId=users, httpMethod="GET", authorizationType="NONE",
                     requestParameters={"method.request.querystring.limit": False})
    for resource, verb in ((proxy, "ANY"), (users, "GET")):
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod=verb, type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    return api


def create_http_api(clients: Clients, n: int) -> str:
    v2 = clients.apigatewayv2(REGION)
    api = v2.create_api(Name=f"bench-http-{n}", ProtocolType="HTTP")["ApiId"]
    v2.create_route(ApiId=api, RouteKey="GET /items/{id}")
    v2.create_route(ApiId=api, RouteKey="$default")
    v2.create_stage(ApiId=api, StageName="$default")
    return api


def create_function_urls(clients: Clients) -> list[str]:
    """FUNCTIONS functions in REGION, the first FUNCTION_URLS with a function URL; returns the URL domains."""
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    role = clients.client("iam").create_role(RoleName="bench-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = clients.client("lambda", REGION)
    domains = []
    for n in range(FUNCTIONS):
        lam.create_function(FunctionName=f"bench-fn-{n}", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": code.getvalue()}, Timeout=3 + n)
        if n < FUNCTION_URLS:
            url = lam.create_function_url_config(FunctionName=f"bench-fn-{n}", AuthType="NONE")["FunctionUrl"]
            domains.append(url.removeprefix("https://").rstrip("/"))
    return domains


def populate(clients: Clients, distributions: int, apis: int, behaviors: int, *,
             function_urls: bool = False) -> list[str]:
    """The account; with ``function_urls`` every fifth distribution also has a function URL origin (moto's server
    answers ListFunctionUrlConfigs only through the hook ``counted_clients`` installs, so compare.py leaves them out).
    """
    urls = create_function_urls(clients) if function_urls else []
    domains: list[tuple[str, str]] = []
    for n in range(apis):
        if n % 10 == 9:  # a few HTTP APIs, mostly REST
            domains.append((f"{create_http_api(clients, n)}.execute-api.{REGION}.amazonaws.com", ""))
        else:
            domains.append((f"{create_rest_api(clients, n)}.execute-api.{REGION}.amazonaws.com", "/prod"))
    cloudfront = clients.cloudfront()
    ids = []
    for n in range(distributions):
        picked = [domains[n % apis], domains[(n * 7 + 3) % apis]]
        url = urls[(n // 5) % len(urls)] if urls and n % 5 == 0 else None
        ids.append(cloudfront.create_distribution(
            DistributionConfig=distribution_config(n, picked, behaviors, url))["Distribution"]["Id"])
    return ids


def _engine() -> Any | None:
    try:
        from edgemedic import engine
    except ImportError:
        return None
    return engine if hasattr(engine, "scan") and hasattr(engine, "evaluate") else None


def time_evaluate_25(clients: Clients, figures: Figures, repeats: int = 200) -> None:
    """Median time to evaluate one distribution with 25 behaviors (24 + default), collected like any other."""
    engine = _engine()
    if engine is None:
        return
    api = create_rest_api(clients, 10_000)
    config = distribution_config(10_000, [(f"{api}.execute-api.{REGION}.amazonaws.com", "/prod")], 25)
    dist_id = clients.cloudfront().create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    inv = collect(clients, distribution_ids=[dist_id])
    (dist,) = inv.distributions
    engine.evaluate(dist, inv)  # warm caches
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine.evaluate(dist, inv)
        samples.append(time.perf_counter() - start)
    figures.evaluate_25_ms = statistics.median(samples) * 1000


def run(small: bool = False) -> Figures:
    distributions, apis, behaviors = (50, 10, 10) if small else (500, 100, 10)
    figures = Figures(distributions, behaviors, apis)
    with Server():
        setup = Clients(boto3.session.Session(region_name=REGION))
        start = time.perf_counter()
        populate(setup, distributions, apis, behaviors, function_urls=True)
        figures.setup_s = time.perf_counter() - start

        clients = counted_clients(figures.calls)
        start = time.perf_counter()
        inv = collect(clients, from_summaries=True)  # as `edgemedic scan` reads: no config per distribution
        figures.collect_s = time.perf_counter() - start
        assert len(inv.distributions) == distributions, (len(inv.distributions), inv.warnings[:3])
        assert len(inv.apis) == apis, (len(inv.apis), inv.warnings[:3])
        assert len(inv.function_urls) == min(FUNCTION_URLS, -(-distributions // 5)), inv.warnings[:3]

        engine = _engine()
        if engine is None:
            figures.engine_note = "edgemedic.engine.scan is not available yet: engine not timed"
        else:
            start = time.perf_counter()
            figures.findings = len(engine.scan(inv))
            figures.engine_s = time.perf_counter() - start
            time_evaluate_25(setup, figures)
    return figures


def report(figures: Figures) -> str:
    n = figures.distributions
    rows = [
        ("distributions x behaviors", f"{n} x {figures.behaviors_per_distribution}"),
        ("APIs (REST + a few HTTP)", str(figures.apis)),
        ("setup on moto (s)", f"{figures.setup_s:.1f}"),
        ("collect wall time (s)", f"{figures.collect_s:.2f}"),
        ("collect per distribution (ms)", f"{figures.collect_s / n * 1000:.1f}"),
        ("AWS calls (total)", str(sum(figures.calls.values()))),
        ("AWS calls per distribution", f"{figures.calls_per_distribution:.2f}"),
        ("Lambda calls (function URL origins)", f"{sum(c for (s, _), c in figures.calls.items() if s == 'lambda')} "
                                                f"= {sum(c for (s, _), c in figures.calls.items() if s == 'lambda') / n:.2f}"
                                                " per distribution"),
    ]
    if figures.engine_s is not None:
        rows += [
            ("engine scan wall time (s)", f"{figures.engine_s:.3f}"),
            ("engine per distribution (ms)", f"{figures.engine_s / n * 1000:.3f}"),
            ("findings", str(figures.findings)),
            ("evaluate one 25-behavior distribution (ms, median)",
             f"{figures.evaluate_25_ms:.3f}" + ("  (target < 2 ms: OK)" if figures.evaluate_25_ms < 2
                                                else "  (target < 2 ms: MISSED)")),
        ]
    else:
        rows.append(("engine", figures.engine_note))
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    lines.append("")
    lines.append("calls by operation:")
    lines += [f"  {service}:{operation:<28} {count}" for (service, operation), count in sorted(figures.calls.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="50 distributions and 10 APIs (a quick check)")
    args = parser.parse_args(argv)
    print(report(run(small=args.small)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
