"""boto3 -> model: read CloudFront distributions and what stands behind their origins into an Inventory.

    inv = collect(Clients.from_environment(), regions=["eu-west-1"])

Order of work: list the distributions (or get the ones asked for) and read each config with its ETag (or, for a
read-only scan, ``from_summaries=True``: take each distribution from its ListDistributions summary, which carries
every field the rules read, and read no config; see :func:`config_from_summary`); list the
API Gateway custom domains of the regions involved (those given, and those of ``execute-api`` origins); build the
distribution models (policies resolved, origins classified); read each API behind an API origin once; read load
balancer origins (listeners, ACM certificates, Route 53 names); find the function behind each Lambda function URL
origin (``collect.lambdas``: only in regions that have one); optionally probe HTTPS custom origins over TLS.

What cannot be read (no permission, deleted) is recorded in ``Inventory.unreadable`` under the keys of
``edgemedic.model`` and in ``Inventory.warnings``; missing credentials, a missing ``cloudfront:ListDistributions``
permission and throttling that outlasts botocore's retries raise typed errors instead.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

from ..aws import Clients
from ..errors import AccessError, NotFoundError, ReadError
from ..forwarding import forwarding_of
from ..model import (
    CustomDomain,
    Distribution,
    Inventory,
    OriginKind,
    Unreadable,
    custom_domain_key,
    domains_key,
    has_tenant_parameter,
)
from .apigateway import ApiGatewayReader
from .calls import ResourceUnreadable, call, paginate
from .cloudfront import PolicyResolver, distribution_from_config
from .lambdas import LambdaUrlReader
from .loadbalancers import LoadBalancerReader
from .origins import execute_api_region
from .regions import candidate_regions, discover_domain_regions
from .tenants import read_tenant_domains

__all__ = ["PolicyResolver", "collect", "config_from_summary", "distribution_from_config", "has_full_config",
           "probe_targets", "read_configs", "iter_configs", "reread_distribution"]

_SUMMARY_KEYS = ("Id", "ARN", "DomainName", "Status")
# Custom origins that are certainly not API Gateway custom domains (AWS service endpoints).
_NOT_API_SUFFIXES = (".cloudfront.net", ".on.aws", ".amazonaws.com", ".amazonaws.com.cn")
_CONFIG_READERS = 4
# progress(what, done, total): "distributions" (total known) and "APIs" (total None), called from this thread.
Progress = Callable[[str, int, "int | None"], None]


def _no_progress(what: str, done: int, total: int | None) -> None:
    return None


# botocore's connection failures (after its retries), as ResourceUnreadable.code names them.
_CONNECTION_ERRORS = frozenset({"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError",
                                "ReadTimeoutError", "ProxyConnectionError", "SSLError"})


def _access_error(problem: ResourceUnreadable, permission: str) -> AccessError:
    return AccessError(f"{problem.what}: {problem.code}: {problem.message}. Grant {permission} to the identity "
                       "edgemedic runs as (see template.yaml for the full read-only policy).")


def config_from_summary(cloudfront: Any, summary: Mapping) -> dict:
    """The DistributionConfig fields of a ListDistributions ``DistributionSummary``.

    A summary carries Aliases, Origins, OriginGroups, DefaultCacheBehavior, CacheBehaviors, CustomErrorResponses,
    Comment, PriceClass, Enabled, ViewerCertificate, Restrictions, WebACLId, HttpVersion, IsIPV6Enabled, Staging
    (CloudFront API reference, DistributionSummary): everything the rules read. It lacks CallerReference,
    DefaultRootObject, Logging, ContinuousDeploymentPolicyId, TenantConfig and CacheTagConfig, so such a config
    is for evaluating only: a fix reads the whole config and its ETag again before planning (act.apply)."""
    members = cloudfront.meta.service_model.shape_for("DistributionConfig").members
    return {key: value for key, value in summary.items() if key in members}


def has_full_config(dist: Distribution) -> bool:
    """Whether ``dist.config`` is a whole DistributionConfig (CallerReference is required in one and always
    returned by GetDistributionConfig), not the part a summary carries."""
    return "CallerReference" in dist.config


def read_configs(clients: Clients, distribution_ids: Sequence[str]) -> dict[str, tuple[dict, str] | str]:
    """GetDistributionConfig for each id, a few at once: id -> (config, ETag), or the reason it was not read."""
    return _read_configs(clients.cloudfront(), distribution_ids)


def iter_configs(clients: Clients, distribution_ids: Sequence[str],
                 ) -> Iterator[tuple[str, tuple[dict, str] | str]]:
    """:func:`read_configs` one distribution at a time, in the order asked, each as soon as it is read (the next
    reads are in flight meanwhile), so a caller can work on one config while the others arrive."""
    yield from _iter_configs(clients.cloudfront(), distribution_ids)


def _read_configs(cloudfront: Any, distribution_ids: Sequence[str], progress: Progress = _no_progress,
                  ) -> dict[str, tuple[dict, str] | str]:
    return dict(_iter_configs(cloudfront, distribution_ids, progress))


def _iter_configs(cloudfront: Any, distribution_ids: Sequence[str], progress: Progress = _no_progress,
                  ) -> Iterator[tuple[str, tuple[dict, str] | str]]:
    # A few in flight at once hide the round trips (botocore clients are thread-safe).
    def read(dist_id: str) -> tuple[dict, str] | str:
        try:
            answer = call(f"distribution {dist_id}", cloudfront.get_distribution_config, Id=dist_id)
        except ResourceUnreadable as problem:
            if problem.access_denied:
                raise _access_error(problem, "cloudfront:GetDistributionConfig") from problem
            return f"distribution {dist_id} skipped: {problem.code}: {problem.message}"
        return answer["DistributionConfig"], answer["ETag"]

    from concurrent.futures import ThreadPoolExecutor  # late: ~10 ms that `edgemedic rules` does not need

    ids = list(dict.fromkeys(distribution_ids))
    with ThreadPoolExecutor(max_workers=_CONFIG_READERS) as pool:
        for done, (dist_id, result) in enumerate(zip(ids, pool.map(read, ids)), 1):
            progress("distributions", done, len(ids))
            yield dist_id, result


def _read_distributions(cloudfront: Any, distribution_ids: Sequence[str], warnings: list[str],
                        from_summaries: bool = False, progress: Progress = _no_progress,
                        ) -> list[tuple[dict, dict, str]]:
    """(summary, config, etag) for each distribution to scan."""
    found: list[tuple[dict, dict, str]] = []
    if distribution_ids:
        wanted = list(dict.fromkeys(distribution_ids))
        for done, dist_id in enumerate(wanted, 1):
            progress("distributions", done, len(wanted))
            try:
                answer = call(f"distribution {dist_id}", cloudfront.get_distribution, Id=dist_id)
            except ResourceUnreadable as problem:
                if problem.access_denied:
                    raise _access_error(problem, "cloudfront:GetDistribution") from problem
                warnings.append(f"distribution {dist_id} skipped: {problem.code}: {problem.message}")
                continue
            raw = answer["Distribution"]
            found.append(({k: raw.get(k, "") for k in _SUMMARY_KEYS}, raw["DistributionConfig"], answer["ETag"]))
        return found
    try:
        summaries = list(paginate("distributions", cloudfront, "list_distributions", "DistributionList.Items"))
    except ResourceUnreadable as problem:
        if problem.access_denied:
            raise _access_error(problem, "cloudfront:ListDistributions") from problem
        hint = ""
        if problem.code in _CONNECTION_ERRORS:
            hint = " (check the network, AWS_ENDPOINT_URL and the region)"
        raise ReadError(f"cannot list CloudFront distributions: {problem.code}: {problem.message}{hint}") from problem
    if from_summaries:
        progress("distributions", len(summaries), len(summaries))
        return [({k: summary.get(k, "") for k in _SUMMARY_KEYS}, config_from_summary(cloudfront, summary),
                 summary.get("ETag") or "") for summary in summaries]

    configs = _read_configs(cloudfront, [summary["Id"] for summary in summaries], progress)
    for summary in summaries:  # ListDistributions' order
        result = configs[summary["Id"]]
        if isinstance(result, str):
            warnings.append(result)
        else:
            found.append(({k: summary.get(k, "") for k in _SUMMARY_KEYS}, *result))
    return found


def _origin_regions(configs: Sequence[Mapping]) -> set[str]:
    regions: set[str] = set()
    for config in configs:
        for origin in (config.get("Origins") or {}).get("Items") or []:
            region = execute_api_region(origin["DomainName"])
            if region:
                regions.add(region)
    return regions


def probe_targets(distributions: Sequence[Distribution]) -> set[tuple[str, str, int]]:
    """(origin domain, server name, port) of every HTTPS custom origin: the origin domain, and each viewer name
    when a behavior to it forwards Host (CloudFront then checks the certificate against the viewer's Host)."""
    targets: set[tuple[str, str, int]] = set()
    for dist in distributions:
        for origin in dist.origins:
            if origin.kind not in (OriginKind.CUSTOM, OriginKind.LOAD_BALANCER, OriginKind.LAMBDA_URL):
                continue
            if origin.protocol_policy not in ("https-only", "match-viewer"):
                continue
            targets.add((origin.domain_name, origin.domain_name, origin.https_port))
            for behavior in dist.behaviors:
                if behavior.target_origin_id == origin.id and forwarding_of(behavior).forwards_host:
                    targets.update((origin.domain_name, name, origin.https_port) for name in dist.hostnames)
    return targets


def collect(clients: Clients, *, regions: Sequence[str] = (), distribution_ids: Sequence[str] = (),
            probe: bool = False, probe_timeout: float = 3.0, discover_regions: bool = False,
            from_summaries: bool = False, progress: Progress = _no_progress) -> Inventory:
    """Read everything the rules need. See the module docstring for what is read and how failures are kept.

    Custom domains are listed in ``regions``, the regions of ``execute-api`` origins and the configured region;
    with ``discover_regions`` also in every region where the account has custom domains (one cheap call per
    region, in parallel).

    ``from_summaries`` (read-only scans of the whole account): distributions come from the ListDistributions pages
    alone, their configs partial (:func:`has_full_config` is false) and their ETags empty unless the summary has one.
    """
    warnings: list[str] = []
    cloudfront = clients.cloudfront()
    raw = _read_distributions(cloudfront, distribution_ids, warnings, from_summaries, progress)

    apigw = ApiGatewayReader(clients)
    known_domains: dict[str, CustomDomain] = {}  # every listed domain, to recognise origins
    read_regions = set(regions) | _origin_regions([config for _, config, _ in raw]) | {clients.default_region}
    if discover_regions:
        read_regions |= discover_domain_regions(clients, set(candidate_regions(clients)) - read_regions, warnings)
    for region in sorted(read_regions):
        known_domains.update(apigw.domain_names(region))

    resolver = PolicyResolver(cloudfront)
    distributions = tuple(distribution_from_config(summary, config, etag, resolver, known_domains)
                          for summary, config, etag in raw)
    unreadable: dict[str, Unreadable] = {}
    for dist in distributions:
        for missing in dist.unreadable:
            warnings.append(f"distribution {dist.id}: {missing.what} could not be read: {missing.reason}")
        for origin in dist.origins:
            if has_tenant_parameter(origin.domain_name + origin.origin_path):
                warnings.append(f"distribution {dist.id}: origin {origin.id} ({origin.domain_name}"
                                f"{origin.origin_path}) names a tenant parameter, resolved per distribution tenant: "
                                "what it reaches is indeterminate, so the rules that need it stay silent there")
            elif origin.kind is OriginKind.CUSTOM and not origin.domain_name.lower().endswith(_NOT_API_SUFFIXES):
                warnings.append(
                    f"distribution {dist.id}: origin {origin.id} ({origin.domain_name}) matches no API Gateway custom "
                    f"domain in the regions read ({', '.join(sorted(read_regions))}): it is checked as a custom "
                    "origin; if it is an API Gateway custom domain elsewhere, scan with --region <its region>")

    tenant_domains, tenant_unreadable, tenant_warnings = read_tenant_domains(cloudfront, distributions)
    unreadable.update(tenant_unreadable)
    warnings.extend(tenant_warnings)

    lb_names: set[str] = set()
    api_keys: list[tuple[str, str]] = []  # every API behind an origin, read once below
    for dist in distributions:
        for origin in dist.origins:
            if origin.kind is OriginKind.LOAD_BALANCER:
                lb_names.add(origin.domain_name)
            target = origin.api
            if target is None:
                continue
            if target.via == "execute-api" and target.api_id:
                api_keys.append((target.region, target.api_id))
                continue
            domain = apigw.domains(target.region).get((target.domain_name or "").lower())
            if domain is None:
                name = (target.domain_name or origin.domain_name).lower()
                listing = apigw.unreadable.get(domains_key(target.region))
                if custom_domain_key(name) not in apigw.unreadable:
                    unreadable[custom_domain_key(name)] = Unreadable(
                        f"custom domain behind origin {origin.domain_name}",
                        listing.reason if listing else
                        f"no API Gateway custom domain in {target.region} has this name or target",
                        gone=listing is None)
                continue
            api_keys.extend((domain.region, api_id) for api_id in domain.routed_api_ids)
    apigw.read_apis(api_keys, progress=lambda done: progress("APIs", done, None))

    lbs = LoadBalancerReader(clients)
    if lb_names:
        lbs.read(lb_names)
    function_urls = LambdaUrlReader(clients)
    function_urls.read({(o.lambda_url.region, o.lambda_url.url_id)
                        for dist in distributions for o in dist.origins if o.lambda_url is not None})

    probes: dict = {}
    if probe:
        from .probe import probe_all  # late: ssl and certifi only when probing

        probes = probe_all(probe_targets(distributions), timeout=probe_timeout)
    unreadable.update(apigw.unreadable)
    unreadable.update(lbs.unreadable)
    unreadable.update(function_urls.unreadable)
    return Inventory(
        distributions=distributions,
        apis=dict(apigw.apis),
        custom_domains=apigw.all_domains(),
        load_balancers=dict(lbs.load_balancers),
        certificates=dict(lbs.certificates),
        probes=probes,
        function_urls=dict(function_urls.function_urls),
        unreadable=unreadable,
        warnings=tuple(dict.fromkeys([*warnings, *apigw.warnings, *lbs.warnings, *function_urls.warnings])),
        tenant_domains=tenant_domains,
    )


def reread_distribution(clients: Clients, inv: Inventory, distribution_id: str) -> tuple[Distribution, dict, str]:
    """Read one distribution's config now: (model, raw config, ETag), policies resolved. For fix/verify loops."""
    cloudfront = clients.cloudfront()
    previous = next((d for d in inv.distributions if d.id == distribution_id), None)
    try:
        if previous is not None:
            answer = call(f"distribution {distribution_id}", cloudfront.get_distribution_config, Id=distribution_id)
            summary = {"Id": previous.id, "ARN": previous.arn, "DomainName": previous.domain_name,
                       "Status": previous.status}
            config = answer["DistributionConfig"]
        else:
            answer = call(f"distribution {distribution_id}", cloudfront.get_distribution, Id=distribution_id)
            summary = {k: answer["Distribution"].get(k, "") for k in _SUMMARY_KEYS}
            config = answer["Distribution"]["DistributionConfig"]
    except ResourceUnreadable as problem:
        if problem.access_denied:
            raise _access_error(problem, "cloudfront:GetDistributionConfig") from problem
        raise NotFoundError(f"distribution {distribution_id} could not be read: {problem.code}: {problem.message}. "
                            "It may have been deleted; list them with `edgemedic scan`.") from problem
    known = dict(inv.custom_domains)
    dist = distribution_from_config(summary, config, answer["ETag"], PolicyResolver(cloudfront), known)
    return dist, config, answer["ETag"]
