"""Custom domains outside the configured region and the execute-api origins' regions: found by one cheap call per
region (GetDomainNames, limit 1), in parallel, when the scan is not narrowed with --region."""
from __future__ import annotations

from edgemedic import collect
from edgemedic import policies as p
from edgemedic.collect.regions import candidate_regions
from edgemedic.model import OriginKind

DOMAIN_REGION = "eu-west-2"
DOMAIN = "api.orders.example"


def _world(emu, cf):
    clients = emu.clients()
    apigw = clients.apigateway(DOMAIN_REGION)
    api = apigw.create_rest_api(name="orders", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    cert = clients.acm(DOMAIN_REGION).request_certificate(DomainName=DOMAIN)["CertificateArn"]
    apigw.create_domain_name(domainName=DOMAIN, regionalCertificateArn=cert, securityPolicy="TLS_1_2",
                             endpointConfiguration={"types": ["REGIONAL"]})
    apigw.create_base_path_mapping(domainName=DOMAIN, restApiId=api, stage="prod")
    cf.create_distribution(clients.cloudfront(), cf.distribution_config(
        "discovery", [cf.custom_origin("api", DOMAIN), cf.custom_origin("shop", "shop.example.net")],
        cf.policy_behavior("api", orp=p.ALL_VIEWER_EXCEPT_HOST_HEADER),
        [cf.policy_behavior("shop", "/shop/*")]))
    return clients


def test_domain_in_another_region_is_found_by_discovery(emu, cf):
    clients = _world(emu, cf)
    emu.calls.clear()
    inv = collect.collect(clients, discover_regions=True)
    origins = {o.id: o for o in inv.distributions[0].origins}
    assert origins["api"].kind is OriginKind.API_GATEWAY
    assert origins["api"].api.region == DOMAIN_REGION
    # One probe per candidate region other than the configured one, then the full listing where domains are.
    assert emu.calls[("apigateway", "GetDomainNames")] == len(candidate_regions(clients)) - 1 + 2
    # The origin that matches no custom domain is named, with the regions read.
    assert [w for w in inv.warnings if "matches no API Gateway custom domain" in w] == [
        f"distribution {inv.distributions[0].id}: origin shop (shop.example.net) matches no API Gateway custom domain "
        f"in the regions read ({DOMAIN_REGION}, us-east-1): it is checked as a custom origin; if it is an API "
        "Gateway custom domain elsewhere, scan with --region <its region>"]


def test_without_discovery_the_domain_is_not_found_and_the_output_says_so(emu, cf):
    clients = _world(emu, cf)
    inv = collect.collect(clients, regions=["us-east-1"])
    assert inv.distributions[0].origin("api").kind is OriginKind.CUSTOM
    assert any(w.startswith(f"distribution {inv.distributions[0].id}: origin api ({DOMAIN}) matches no API Gateway "
                            "custom domain in the regions read (us-east-1)") for w in inv.warnings)
