"""Routing rules read from API Gateway and routed: moto has neither routing modes nor routing rules, so the
project's emulator answers CreateRoutingRule / ListRoutingRules and returns the routing mode of a custom domain as
the API Gateway Developer Guide and the apigatewayv2 service model document them."""
from __future__ import annotations

from edgemedic import collect, engine
from edgemedic import policies as p
from edgemedic.model import ROUTING_RULE_THEN_API_MAPPING, RoutingRule

REGION = "eu-west-1"
DOMAIN = "api.shop.example"


def _rest(apigw, name: str, path: str) -> str:
    api = apigw.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})["id"]
    parent = apigw.get_resources(restApiId=api)["items"][0]["id"]
    for part in path.strip("/").split("/"):
        parent = apigw.create_resource(restApiId=api, parentId=parent, pathPart=part)["id"]
    apigw.put_method(restApiId=api, resourceId=parent, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=parent, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    return api


def test_routing_rules_are_read_and_route_the_behavior(emu, cf):
    clients = emu.clients()
    apigw = clients.apigateway(REGION)
    orders = _rest(apigw, "orders", "/items")
    legacy = _rest(apigw, "legacy", "/legacy/things")
    cert = clients.acm(REGION).request_certificate(DomainName=DOMAIN)["CertificateArn"]
    apigw.create_domain_name(domainName=DOMAIN, regionalCertificateArn=cert, securityPolicy="TLS_1_2",
                             endpointConfiguration={"types": ["REGIONAL"]}, routingMode=ROUTING_RULE_THEN_API_MAPPING)
    apigw.create_base_path_mapping(domainName=DOMAIN, restApiId=legacy, stage="prod")
    clients.apigatewayv2(REGION).create_routing_rule(
        DomainName=DOMAIN, Priority=50,
        Conditions=[{"MatchBasePaths": {"AnyOf": ["orders"]}}],
        Actions=[{"InvokeApi": {"ApiId": orders, "Stage": "prod", "StripBasePath": True}}])
    config = cf.distribution_config(
        "rules", [cf.custom_origin("api", DOMAIN), cf.s3_origin("site", "site")],
        cf.policy_behavior("site", cache=p.CACHING_OPTIMIZED),
        [cf.policy_behavior("api", "/orders/*", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER)])
    cf.create_distribution(clients.cloudfront(), config)

    inv = collect.collect(clients, regions=[REGION])
    domain = inv.custom_domain(DOMAIN)
    assert (domain.routing_mode, domain.routing_rules) == (
        ROUTING_RULE_THEN_API_MAPPING, (RoutingRule(50, orders, "prod", ("orders",), (), True,
                                                    domain.routing_rules[0].rule_id),))
    assert inv.api(REGION, orders) is not None  # the API a rule routes to is read
    assert emu.calls[("apigatewayv2", "ListRoutingRules")] == 1
    [dist] = inv.distributions
    assert "apigw-path-unroutable" not in [f.rule for f in engine.evaluate(dist, inv)]
