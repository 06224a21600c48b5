"""Template and plan scan at size: a 2,000-resource CloudFormation template and a 500-distribution Terraform plan.

    .venv/bin/python benchmarks/templates.py            # both, each in a fresh interpreter
    .venv/bin/python benchmarks/templates.py --small    # a tenth of the size

Each case is generated into a temporary directory (YAML with short-form tags; `terraform show -json` shape with
ids known only after apply, so every origin domain is resolved from configuration references), then scanned in a
child interpreter that reports wall time (import of the decoders included, measured apart), findings, and peak
memory (ru_maxrss of the child).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def template(units: int) -> str:
    """``units`` x 20 resources: a REST API with 8 resources and 8 methods, a stage, a cache policy, a distribution."""
    lines = ["AWSTemplateFormatVersion: '2010-09-09'", "Parameters:", "  Stage: {Type: String, Default: prod}",
             "Resources:"]
    for u in range(units):
        lines += [f"  Api{u}:", "    Type: AWS::ApiGateway::RestApi",
                  f"    Properties: {{Name: api-{u}, EndpointConfiguration: {{Types: [REGIONAL]}}}}"]
        parent = f"!GetAtt Api{u}.RootResourceId"
        for r in range(8):
            lines += [f"  Api{u}Res{r}:", "    Type: AWS::ApiGateway::Resource",
                      f"    Properties: {{RestApiId: !Ref Api{u}, ParentId: {parent}, PathPart: part{r}}}",
                      f"  Api{u}Method{r}:", "    Type: AWS::ApiGateway::Method",
                      f"    Properties: {{RestApiId: !Ref Api{u}, ResourceId: !Ref Api{u}Res{r}, "
                      f"HttpMethod: {'POST' if r % 2 else 'GET'}, AuthorizationType: {'AWS_IAM' if r == 3 else 'NONE'}}}"]
            parent = f"!Ref Api{u}Res{r}" if r % 3 == 0 else parent
        lines += [f"  Api{u}Stage:", "    Type: AWS::ApiGateway::Stage",
                  f"    Properties: {{RestApiId: !Ref Api{u}, StageName: !Ref Stage, DeploymentId: d{u}}}",
                  f"  Policy{u}:", "    Type: AWS::CloudFront::CachePolicy",
                  f"    Properties: {{CachePolicyConfig: {{Name: p{u}, MinTTL: 0, DefaultTTL: 0, MaxTTL: 1, "
                  "ParametersInCacheKeyAndForwardedToOrigin: {EnableAcceptEncodingGzip: false, "
                  "HeadersConfig: {HeaderBehavior: none}, CookiesConfig: {CookieBehavior: none}, "
                  "QueryStringsConfig: {QueryStringBehavior: all}}}}",
                  f"  Dist{u}:", "    Type: AWS::CloudFront::Distribution", "    Properties:",
                  "      DistributionConfig:", "        Enabled: true", "        Origins:",
                  f"          - {{Id: api, DomainName: !Sub '${{Api{u}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}',"
                  " OriginPath: !Sub '/${Stage}', CustomOriginConfig: {OriginProtocolPolicy: https-only,"
                  " OriginSSLProtocols: [TLSv1.2]}}",
                  "          - {Id: site, DomainName: site.s3.amazonaws.com, S3OriginConfig: {}}",
                  "        CacheBehaviors:"]
        for b in range(4):
            orp = [ALL_VIEWER, EXCEPT_HOST][b % 2]
            policy = f"!Ref Policy{u}" if b == 2 else CACHING_DISABLED
            lines.append(f"          - {{PathPattern: /part0/part{b + 1}*, TargetOriginId: api, ViewerProtocolPolicy: "
                         f"https-only, AllowedMethods: [GET, HEAD], CachePolicyId: {policy}, "
                         f"OriginRequestPolicyId: {orp}}}")
        lines += ["        DefaultCacheBehavior: {TargetOriginId: site, ViewerProtocolPolicy: https-only, "
                  "CachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6}"]
    return "\n".join(lines) + "\n"


def plan(distributions: int) -> dict:
    """``distributions`` x (REST API, resource, 2 methods, stage, distribution); ids known only after apply."""
    values, changes, config = [], [], []
    for d in range(distributions):
        api, res, stage, dist = (f"aws_api_gateway_rest_api.api{d}", f"aws_api_gateway_resource.items{d}",
                                 f"aws_api_gateway_stage.prod{d}", f"aws_cloudfront_distribution.cdn{d}")
        ref = {"references": [f"{api}.id", api]}
        values += [
            {"address": api, "mode": "managed", "type": "aws_api_gateway_rest_api", "name": f"api{d}",
             "values": {"name": f"api-{d}", "endpoint_configuration": [{"types": ["REGIONAL"]}]}},
            {"address": res, "mode": "managed", "type": "aws_api_gateway_resource", "name": f"items{d}",
             "values": {"path_part": "items"}},
            *({"address": f"aws_api_gateway_method.{verb}{d}", "mode": "managed", "type": "aws_api_gateway_method",
               "name": f"{verb}{d}", "values": {"http_method": verb.upper(), "authorization": "NONE"}}
              for verb in ("get", "post")),
            {"address": stage, "mode": "managed", "type": "aws_api_gateway_stage", "name": f"prod{d}",
             "values": {"stage_name": "prod"}},
            {"address": dist, "mode": "managed", "type": "aws_cloudfront_distribution", "name": f"cdn{d}",
             "values": {"enabled": True, "origin": [{"origin_id": "api", "origin_path": "/prod",
                                                     "custom_origin_config": [{"origin_protocol_policy": "https-only",
                                                                               "origin_ssl_protocols": ["TLSv1.2"]}]}],
                        "ordered_cache_behavior": [
                            {"path_pattern": f"/items{b}*", "target_origin_id": "api",
                             "viewer_protocol_policy": "https-only", "allowed_methods": ["GET", "HEAD"],
                             "cached_methods": ["GET", "HEAD"], "cache_policy_id": CACHING_DISABLED,
                             "origin_request_policy_id": ALL_VIEWER if b % 2 else EXCEPT_HOST} for b in range(4)],
                        "default_cache_behavior": [{"target_origin_id": "api", "viewer_protocol_policy": "https-only",
                                                    "allowed_methods": ["GET", "HEAD"],
                                                    "cached_methods": ["GET", "HEAD"],
                                                    "cache_policy_id": CACHING_DISABLED}]}},
        ]
        changes += [{"address": api, "change": {"actions": ["create"], "after_unknown": {"id": True}}},
                    {"address": res, "change": {"actions": ["create"], "after_unknown": {
                        "id": True, "rest_api_id": True, "parent_id": True, "path": True}}},
                    *({"address": f"aws_api_gateway_method.{verb}{d}", "change": {"actions": ["create"],
                       "after_unknown": {"rest_api_id": True, "resource_id": True}}} for verb in ("get", "post")),
                    {"address": stage, "change": {"actions": ["create"], "after_unknown": {"rest_api_id": True}}},
                    {"address": dist, "change": {"actions": ["create"], "after_unknown": {
                        "id": True, "origin": [{"domain_name": True}]}}}]
        config += [{"address": res, "expressions": {"rest_api_id": ref, "parent_id": {
                        "references": [f"{api}.root_resource_id", api]}}},
                   *({"address": f"aws_api_gateway_method.{verb}{d}", "expressions": {
                       "rest_api_id": ref, "resource_id": {"references": [f"{res}.id", res]}}}
                     for verb in ("get", "post")),
                   {"address": stage, "expressions": {"rest_api_id": ref}},
                   {"address": dist, "expressions": {"origin": [{"domain_name": ref}]}}]
    return {"format_version": "1.2", "planned_values": {"root_module": {"resources": values}},
            "resource_changes": changes, "configuration": {"root_module": {"resources": config}}}


CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from edgemedic.sources.scan import scan_sources
if sys.argv[1] == "template":
    import cfnlint.decode, samtranslator.translator.translator  # noqa: F401 - the decoders' import, timed apart
t1 = time.perf_counter()
path = Path(sys.argv[2])
result = scan_sources([path] if sys.argv[1] == "template" else [], [path] if sys.argv[1] == "plan" else [])
t2 = time.perf_counter()
print(json.dumps({"import_s": round(t1 - t0, 2), "scan_s": round(t2 - t1, 2), "distributions":
                  len(result.distributions), "findings": len(result.findings), "warnings": len(result.warnings),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    units, dists = (10, 50) if args.small else (100, 500)
    with tempfile.TemporaryDirectory() as tmp:
        tpl = Path(tmp) / "big.template.yaml"
        tpl.write_text(template(units))
        pln = Path(tmp) / "big.plan.json"
        pln.write_text(json.dumps(plan(dists)))
        for kind, path, size in (("template", tpl, f"{units * 20} resources, {units} distributions"),
                                 ("plan", pln, f"{dists} distributions, {dists * 6} resources")):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True,
                                 check=True).stdout
            figures = json.loads(out)
            print(f"{kind:8} {size:40} file {path.stat().st_size / 1e6:.1f} MB  "
                  f"wall {time.perf_counter() - started:.2f} s  {json.dumps(figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
