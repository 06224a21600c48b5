"""Multi-tenant distributions (2025) on the emulator: moto lacks ConnectionMode and distribution tenants, so the
project's emulator answers CreateDistributionTenant / ListDistributionTenants as the CloudFront API reference
documents them. A tenant's domain that is an API Gateway custom domain mapped to the API gives Host intent."""
from __future__ import annotations

from edgemedic import collect, engine
from edgemedic import policies as p
from edgemedic.model import tenants_key

REGION = "us-east-1"


def _world(emu, cf, *, tenant_domain: str | None, mapped: bool = True, origin_path: str = ""):
    clients = emu.clients()
    apigw = clients.apigateway(REGION)
    api = apigw.create_rest_api(name="orders", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    orders = apigw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    apigw.put_method(restApiId=api, resourceId=orders, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=orders, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    cert = clients.acm(REGION).request_certificate(DomainName="shop.tenant.example")["CertificateArn"]
    apigw.create_domain_name(domainName="shop.tenant.example", regionalCertificateArn=cert,
                             endpointConfiguration={"types": ["REGIONAL"]}, securityPolicy="TLS_1_2")
    if mapped:
        apigw.create_base_path_mapping(domainName="shop.tenant.example", restApiId=api, stage="prod")
    else:  # the tenant's domain maps another API
        other = apigw.create_rest_api(name="other", endpointConfiguration={"types": ["REGIONAL"]})["id"]
        other_root = apigw.get_resources(restApiId=other)["items"][0]["id"]
        apigw.put_method(restApiId=other, resourceId=other_root, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=other, resourceId=other_root, httpMethod="GET", type="MOCK")
        apigw.create_deployment(restApiId=other, stageName="prod")
        apigw.create_base_path_mapping(domainName="shop.tenant.example", restApiId=other, stage="prod")
    config = cf.distribution_config(
        "tenants", [cf.custom_origin("api", f"{api}.execute-api.{REGION}.amazonaws.com", path=origin_path)],
        cf.policy_behavior("api", orp=p.ALL_VIEWER))
    config["ConnectionMode"] = "tenant-only"
    cloudfront = clients.cloudfront()
    dist_id = cf.create_distribution(cloudfront, config)
    if tenant_domain:
        cloudfront.create_distribution_tenant(DistributionId=dist_id, Name="shop",
                                              Domains=[{"Domain": tenant_domain}])
    return clients, dist_id


def test_tenant_domain_mapped_to_the_api_is_host_intent(emu, cf):
    clients, dist_id = _world(emu, cf, tenant_domain="shop.tenant.example")
    inv = collect.collect(clients, regions=[REGION])
    [dist] = inv.distributions
    assert (dist.tenant_only, dist.aliases, inv.tenant_domains) == (True, (), {dist_id: ("shop.tenant.example",)})
    # AllViewer forwards the tenant's Host, which API Gateway routes through the custom domain: no finding.
    assert [f.rule for f in engine.evaluate(dist, inv)] == []
    assert emu.calls[("cloudfront", "ListDistributionTenants")] == 1


def test_tenant_domain_not_mapped_still_fires_auto(emu, cf):
    clients, dist_id = _world(emu, cf, tenant_domain="shop.tenant.example", mapped=False)
    inv = collect.collect(clients, regions=[REGION])
    [found] = [f for f in engine.evaluate(inv.distributions[0], inv) if f.rule == "apigw-host-forwarded"]
    assert found.fix.fix_class.value == "auto"


def test_unreadable_tenants_make_the_host_fix_wait_for_a_person(emu, cf):
    clients, dist_id = _world(emu, cf, tenant_domain="shop.tenant.example")
    # The reading identity lacks cloudfront:ListDistributionTenants: AWS answers AccessDenied (HTTP 403).
    from edgemedic.emulator import _ShortCircuit

    emu.session.events.register_first("before-call.cloudfront.ListDistributionTenants",
                                      lambda **kw: _ShortCircuit.error("AccessDenied", "User is not authorized to "
                                                                       "perform: cloudfront:ListDistributionTenants", 403))
    inv = collect.collect(emu.clients(), regions=[REGION])
    assert tenants_key(dist_id) in inv.unreadable
    [found] = [f for f in engine.evaluate(inv.distributions[0], inv) if f.rule == "apigw-host-forwarded"]
    assert found.fix.fix_class.value == "approve"
    assert any("multi-tenant and its tenants' domains were not read" in n for n in found.notes)


def test_tenant_parameter_in_origin_path_is_indeterminate(emu, cf):
    clients, dist_id = _world(emu, cf, tenant_domain="shop.tenant.example", origin_path="/{{stage}}")
    inv = collect.collect(clients, regions=[REGION])
    assert [f.rule for f in engine.evaluate(inv.distributions[0], inv)] == []
