"""origin-tls-name-mismatch and origin-tls-cert-invalid."""
from __future__ import annotations

import pytest

from builders import (
    api_origin,
    behavior,
    certificate,
    custom_origin,
    distribution,
    inventory,
    load_balancer,
    probe,
    rest_api,
    with_probes,
)
from edgemedic import policies as p
from edgemedic.findings import FixClass, SetOriginDomain, Severity
from edgemedic.model import OriginKind
from edgemedic.rules.tls import RULES, check_cert_invalid, check_name_mismatch, name_covers

ELB = "app-1234567890.eu-west-1.elb.amazonaws.com"
WILD = certificate("wild", "example.com", "*.example.com")


def _lb_origin(domain=ELB, protocol="https-only"):
    return custom_origin("lb", domain, kind=OriginKind.LOAD_BALANCER, protocol=protocol)


def _dist(origin, *, orp=None, aliases=("www.example.com",)):
    return distribution(origins=[origin], behaviors=[behavior("*", origin.id, orp=orp)], aliases=aliases)


def _summary(findings):
    return [(f.rule, f.severity, f.behavior, f.origin, f.fix.fix_class, f.fix.changes) for f in findings]


@pytest.mark.parametrize("cert_name, host, covered", [
    ("*.example.com", "api.example.com", True),
    ("*.example.com", "API.Example.com.", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "a.b.example.com", False),
    ("example.com", "example.com", True),
    ("api.example.com", "www.example.com", False),
])
def test_name_covers(cert_name, host, covered):
    assert name_covers(cert_name, host) is covered


# --------------------------------------------------------------------------------------------- name mismatch


def test_elb_dns_name_with_exactly_one_certificate_name_pointing_at_it():
    dist = _dist(_lb_origin())
    inv = inventory(dist, certificates=[WILD],
                    load_balancers=[load_balancer(ELB, certificates=[WILD.arn], aliases=["origin.example.com"])])
    found = list(check_name_mismatch(dist, inv))
    assert _summary(found) == [("origin-tls-name-mismatch", Severity.HIGH, "", "lb", FixClass.APPROVE,
                                (SetOriginDomain("lb", "origin.example.com"),))]
    assert found[0].evidence == (
        f"origin lb domain {ELB}, OriginProtocolPolicy https-only",
        "origin lb is the target of behavior *",
        f"{ELB} is a load balancer DNS name, which no certificate can name",
        f"certificate names on load balancer {ELB}: example.com, *.example.com",
        f"Route 53 names pointing at load balancer {ELB}: origin.example.com",
        "behaviors affected: *",
    )
    assert found[0].symptom == ("CloudFront answers 502 \"CloudFront wasn't able to connect to the origin\" for "
                                "requests to origin lb: the TLS handshake fails on the certificate name")


def test_several_candidate_names_make_it_manual():
    dist = _dist(_lb_origin())
    lb = load_balancer(ELB, certificates=[WILD.arn], aliases=["a.example.com", "b.example.com", "x.other.org"])
    [f] = check_name_mismatch(dist, inventory(dist, certificates=[WILD], load_balancers=[lb]))
    assert (f.fix.fix_class, f.fix.changes) == (FixClass.MANUAL, ())
    assert "candidates (names on the certificate that point at the load balancer): a.example.com, b.example.com." \
        in f.fix.ticket
    # The load balancer's own DNS name can be on no certificate: the ticket does not propose one that names it.
    assert f"certificate naming {ELB}" not in f.fix.ticket
    assert f"Route 53 names pointing at load balancer {ELB}: a.example.com, b.example.com, x.other.org" in f.evidence


def test_elb_origin_not_in_inventory_is_manual_without_candidates():
    dist = _dist(_lb_origin(protocol="match-viewer"))
    [f] = check_name_mismatch(dist, inventory(dist))
    assert _summary([f]) == [("origin-tls-name-mismatch", Severity.HIGH, "", "lb", FixClass.MANUAL, ())]
    assert "no Route 53 name in the account both points at the load balancer and is on its certificate" in f.fix.ticket


def test_forwarded_host_on_the_certificate_is_fine():
    """CloudFront accepts a certificate naming the forwarded Host (the usual ELB + AllViewer design)."""
    dist = _dist(_lb_origin(), orp=p.ALL_VIEWER)
    inv = inventory(dist, certificates=[WILD], load_balancers=[load_balancer(ELB, certificates=[WILD.arn])])
    assert list(check_name_mismatch(dist, inv)) == []


def test_forwarded_host_not_on_the_certificate_fires():
    dist = _dist(_lb_origin(), orp=p.ALL_VIEWER, aliases=("www.example.com", "shop.other.org"))
    inv = inventory(dist, certificates=[WILD], load_balancers=[load_balancer(ELB, certificates=[WILD.arn])])
    [f] = check_name_mismatch(dist, inv)
    assert f.evidence[-1] == "forwarded viewer Host not on the certificate: shop.other.org"


def test_forwarded_host_with_unknown_certificate_is_not_guessed():
    dist = _dist(_lb_origin(), orp=p.ALL_VIEWER)
    assert list(check_name_mismatch(dist, inventory(dist))) == []


def test_origin_name_pointing_at_the_lb_and_on_the_certificate_passes():
    dist = _dist(_lb_origin("origin.example.com"))
    inv = inventory(dist, certificates=[WILD],
                    load_balancers=[load_balancer(ELB, certificates=[WILD.arn], aliases=["origin.example.com"])])
    assert list(check_name_mismatch(dist, inv)) == []


def test_wildcard_covers_one_label_only():
    dist = _dist(_lb_origin("a.b.example.com"))
    lb = load_balancer(ELB, certificates=[WILD.arn], aliases=["a.b.example.com", "lb.example.com"])
    [f] = check_name_mismatch(dist, inventory(dist, certificates=[WILD], load_balancers=[lb]))
    assert (f.fix.fix_class, f.fix.changes) == (FixClass.APPROVE, (SetOriginDomain("lb", "lb.example.com"),))


def test_an_alias_of_the_distribution_is_never_the_new_origin_domain():
    dist = _dist(_lb_origin(), aliases=("www.example.com",))
    lb = load_balancer(ELB, certificates=[WILD.arn], aliases=["www.example.com"])
    [f] = check_name_mismatch(dist, inventory(dist, certificates=[WILD], load_balancers=[lb]))
    assert f.fix.fix_class is FixClass.MANUAL


def test_probe_name_mismatch_on_a_plain_custom_origin():
    origin = custom_origin("app", "app.example.net")
    dist = _dist(origin)
    inv = with_probes(inventory(dist), probe("app.example.net", "name-mismatch", names=("other.example.net",)))
    [f] = check_name_mismatch(dist, inv)
    assert _summary([f]) == [("origin-tls-name-mismatch", Severity.HIGH, "", "app", FixClass.MANUAL, ())]
    assert "probe of app.example.net:443 with SNI app.example.net: name-mismatch (certificate names: " \
           "other.example.net)" in f.evidence


MISMATCH_QUIET = {
    "http-only": (_lb_origin(protocol="http-only"), None),
    "API origin": (api_origin("lb", "a1b2c3d4e5"), None),
    "certificate not readable": (_lb_origin("origin.example.com"),
                                 load_balancer(ELB, certificates=["arn:aws:acm:eu-west-1:1:certificate/x"],
                                               aliases=["origin.example.com"])),
    "plain custom origin, nothing read": (custom_origin("lb", "app.example.net"), None),
}


@pytest.mark.parametrize("case", MISMATCH_QUIET.values(), ids=MISMATCH_QUIET.keys())
def test_name_mismatch_quiet(case):
    origin, lb = case
    dist = _dist(origin)
    inv = inventory(dist, load_balancers=[lb] if lb else [], apis=[rest_api("a1b2c3d4e5")])
    assert list(check_name_mismatch(dist, inv)) == []


# --------------------------------------------------------------------------------------------- invalid certificate


def test_expired_listener_certificate():
    expired = certificate("old", "origin.example.com", status="EXPIRED")
    dist = _dist(_lb_origin("origin.example.com"))
    lb = load_balancer(ELB, certificates=[expired.arn], aliases=["origin.example.com"])
    found = list(check_cert_invalid(dist, inventory(dist, certificates=[expired], load_balancers=[lb])))
    assert _summary(found) == [("origin-tls-cert-invalid", Severity.HIGH, "", "lb", FixClass.MANUAL, ())]
    assert found[0].evidence == (
        f"certificate {expired.arn} (origin.example.com) on load balancer {ELB}: status EXPIRED",
        "origin lb is the target of behavior *")
    assert found[0].fix.ticket.endswith(f"that names origin.example.com on the HTTPS listener of load balancer {ELB}.")


def test_valid_certificate_for_the_name_wins_over_an_expired_one():
    expired = certificate("old", "origin.example.com", status="EXPIRED")
    other_expired = certificate("other", "legacy.example.org", status="REVOKED")
    dist = _dist(_lb_origin("origin.example.com"))
    lb = load_balancer(ELB, certificates=[expired.arn, WILD.arn, other_expired.arn], aliases=["origin.example.com"])
    inv = inventory(dist, certificates=[expired, WILD, other_expired], load_balancers=[lb])
    assert list(check_cert_invalid(dist, inv)) == []


@pytest.mark.parametrize("problem", ["expired", "self-signed", "incomplete-chain", "untrusted"])
def test_probe_problems(problem):
    dist = _dist(custom_origin("app", "app.example.net"))
    inv = with_probes(inventory(dist), probe("app.example.net", problem, detail="certificate verify failed"))
    [f] = check_cert_invalid(dist, inv)
    assert f.evidence[0] == f"probe of app.example.net:443 with SNI app.example.net: {problem}: certificate verify failed"
    assert f.fix.fix_class is FixClass.MANUAL


@pytest.mark.parametrize("result", [None, "unreachable", "name-mismatch"])
def test_probe_without_certificate_problem_is_quiet(result):
    dist = _dist(custom_origin("app", "app.example.net"))
    assert list(check_cert_invalid(dist, with_probes(inventory(dist), probe("app.example.net", result)))) == []


def test_rule_metadata():
    assert [(r.id, r.severity, r.fix_class) for r in RULES] == [
        ("origin-tls-name-mismatch", Severity.HIGH, "approve/manual"),
        ("origin-tls-cert-invalid", Severity.HIGH, "manual"),
    ]


@pytest.mark.parametrize("domain", [
    "nlb-1a2b3c4d5e6f7a8b.elb.eu-west-1.amazonaws.com",  # Network Load Balancer: elb.{region}
    "app-123.cn-north-1.elb.amazonaws.com.cn",  # China partition
])
def test_every_load_balancer_dns_name_form_is_never_on_a_certificate(domain):
    """NLB DNS names are ``name-id.elb.{region}.amazonaws.com``: no public CA names them either."""
    dist = _dist(_lb_origin(domain))
    [f] = check_name_mismatch(dist, inventory(dist))
    assert _summary([f]) == [("origin-tls-name-mismatch", Severity.HIGH, "", "lb", FixClass.MANUAL, ())]
    assert f"{domain} is a load balancer DNS name, which no certificate can name" in f.evidence
