"""A behavior whose target is an origin group of API origins, read from the emulator: each member is evaluated,
and the plan never adds write methods there (CloudFront refuses them; moto would accept them, the validator does
not)."""
from __future__ import annotations

from edgemedic import collect, engine
from edgemedic import policies as p
from edgemedic.findings import FixClass
from edgemedic.plan import build_plan
from edgemedic.validate import validate_config

REGIONS = ("us-east-1", "us-west-2")


def _api(clients, region: str) -> str:
    apigw = clients.apigateway(region)
    api = apigw.create_rest_api(name=f"orders-{region}", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    orders = apigw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    for verb in ("GET", "POST"):
        apigw.put_method(restApiId=api, resourceId=orders, httpMethod=verb, authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=orders, httpMethod=verb, type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    return api


def test_origin_group_members_evaluated_and_no_write_methods_planned(emu, cf):
    clients = emu.clients()
    primary, secondary = (_api(clients, region) for region in REGIONS)
    config = cf.distribution_config(
        "failover",
        [cf.custom_origin("primary", f"{primary}.execute-api.us-east-1.amazonaws.com", path="/prod"),
         cf.custom_origin("secondary", f"{secondary}.execute-api.us-west-2.amazonaws.com", path="/prod"),
         cf.s3_origin("site", "site")],
        cf.policy_behavior("site", cache=p.CACHING_OPTIMIZED),
        [cf.policy_behavior("api-failover", "/orders*", orp=p.ALL_VIEWER, allowed=("GET", "HEAD", "OPTIONS"))])
    config["OriginGroups"] = {"Quantity": 1, "Items": [{
        "Id": "api-failover", "FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": [502, 503]}},
        "Members": {"Quantity": 2, "Items": [{"OriginId": "primary"}, {"OriginId": "secondary"}]}}]}
    cf.create_distribution(clients.cloudfront(), config)

    inv = collect.collect(clients, regions=list(REGIONS))
    [dist] = inv.distributions
    assert [(g.id, g.members) for g in dist.origin_groups] == [("api-failover", ("primary", "secondary"))]
    findings = engine.evaluate(dist, inv)
    assert sorted((f.rule, f.origin, f.fix.fix_class.value) for f in findings) == [
        ("apigw-host-forwarded", "primary", "auto"), ("apigw-host-forwarded", "secondary", "auto"),
        ("apigw-methods-blocked", "primary", "manual"), ("apigw-methods-blocked", "secondary", "manual")]
    built = build_plan(dist, findings, classes={FixClass.AUTO, FixClass.APPROVE})
    behavior = built.new_config["CacheBehaviors"]["Items"][0]
    assert set(behavior["AllowedMethods"]["Items"]) == {"GET", "HEAD", "OPTIONS"}
    assert behavior["OriginRequestPolicyId"] == p.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert validate_config(built.new_config, original=dist.config) == []
