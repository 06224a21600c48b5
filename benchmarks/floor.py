"""The floor: only the reads a scan of CloudFront in front of API Gateway cannot do without, and nothing else.

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python benchmarks/floor.py [--configs]

ListDistributions pages (100 a page, the largest); for each region with an ``execute-api`` origin, the APIs listed
(GetRestApis by 500, GetApis) and the custom domain names (v1 and v2 GetDomainNames, to recognise origins that are
custom domains); then for each API behind an origin, once: REST GetStages + GetResources (embed=methods), HTTP /
WebSocket GetStages + GetRoutes, 8 at once, as edgemedic reads them. No model is built, no rule runs, nothing is
printed but the counts: it is the time a client spends on the wire, the least any scanner can take.

``--configs`` adds what a scan that shows each fix's diff cannot do without: GetDistributionConfig for every
distribution (4 at once, as ``edgemedic scan --format json`` reads them). A summary from ListDistributions has no
CallerReference, DefaultRootObject or Logging, so the diff ``fix`` would show needs the whole config.
"""
from __future__ import annotations

import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

EXECUTE_API = re.compile(r"^([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")
CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 5})


def main() -> int:
    configs = "--configs" in sys.argv[1:]
    start = time.perf_counter()
    session = boto3.session.Session()
    calls = 0
    cloudfront = session.client("cloudfront", region_name="us-east-1", config=CONFIG)
    apis: dict[tuple[str, str], None] = {}
    distributions = 0
    ids: list[str] = []
    for page in cloudfront.get_paginator("list_distributions").paginate():
        calls += 1
        for summary in (page["DistributionList"].get("Items") or []):
            distributions += 1
            ids.append(summary["Id"])
            for origin in summary["Origins"]["Items"]:
                match = EXECUTE_API.match(origin["DomainName"].lower())
                if match:
                    apis[(match[2], match[1])] = None
    kinds: dict[tuple[str, str], str] = {}
    v1s, v2s = {}, {}  # one client per region, shared by the threads (botocore clients are thread-safe)
    for region in sorted({region for region, _ in apis}):
        v1 = v1s[region] = session.client("apigateway", region_name=region, config=CONFIG)
        v2 = v2s[region] = session.client("apigatewayv2", region_name=region, config=CONFIG)
        for page in v1.get_paginator("get_rest_apis").paginate(PaginationConfig={"PageSize": 500}):
            calls += 1
            kinds.update({(region, api["id"]): "rest" for api in page.get("items") or []})
        for page in v2.get_paginator("get_apis").paginate():
            calls += 1
            kinds.update({(region, api["ApiId"]): "v2" for api in page.get("Items") or []})
        for client in (v1, v2):
            for _ in client.get_paginator("get_domain_names").paginate():
                calls += 1

    def read(key: tuple[str, str]) -> int:
        region, api_id = key
        if kinds.get(key) == "rest":
            v1s[region].get_stages(restApiId=api_id)
            pages = v1s[region].get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
            return 1 + sum(1 for _ in pages)
        if kinds.get(key) == "v2":
            v2s[region].get_stages(ApiId=api_id)
            v2s[region].get_routes(ApiId=api_id)
            return 2
        return 0

    with ThreadPoolExecutor(max_workers=8) as pool:
        calls += sum(pool.map(read, list(apis)))
    if configs:
        with ThreadPoolExecutor(max_workers=4) as pool:
            calls += sum(1 for _ in pool.map(lambda dist_id: cloudfront.get_distribution_config(Id=dist_id), ids))
    print(json.dumps({"distributions": distributions, "apis": len(apis), "calls": calls,
                      "seconds": round(time.perf_counter() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
