"""Terraform plans -> the model: the JSON of ``terraform show -json PLANFILE``. No AWS call; standard library only.

    scan = load_plan(Path("plan.json"))

Values come from ``planned_values`` (every module); a value Terraform only knows after apply (``after_unknown`` in
``resource_changes``) is resolved from the ``configuration`` expression's references where that is unambiguous:
an origin whose ``domain_name`` references exactly one API's ``id`` / ``api_endpoint`` / stage ``invoke_url`` is an
origin of that API (``"${aws_api_gateway_rest_api.api.id}.execute-api.${var.region}.amazonaws.com"``), one whose
``cache_policy_id`` references a policy in the plan uses that policy, and so on. Anything else unknown is recorded as
unreadable, with a warning, and the rules that need it stay silent. A resource's id in the model is its real id
when the plan knows it, else its address (made DNS-safe for API ids).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..collect.origins import classify_origin
from ..errors import EdgemedicError
from ..model import (
    ApiMapping,
    ApiMethod,
    ApiProtocol,
    Authorizer,
    Certificate,
    CustomDomain,
    EndpointType,
    LoadBalancer,
    OriginKind,
    Unreadable,
    api_key,
    certificate_key,
    custom_domain_key,
    load_balancer_key,
)
from .build import (
    ApiParts,
    DistributionLines,
    ModelBuilder,
    SourceScan,
    cache_policy,
    display_name,
    items,
    origin_request_policy,
    parse_openapi,
)
from .intrinsics import partition_of

DEFAULT_REGION = "us-east-1"
_INDEX = re.compile(r"\[[^\]]*\]")
_MODULE = re.compile(r"^((?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*)")


def module_of(address: str) -> str:
    """``module.a.module.b.`` of ``module.a.module.b["k"].aws_x.y[0]`` (instance keys dropped): configuration
    references inside a module are relative to it."""
    return _INDEX.sub("", _MODULE.match(address)[1])
_QUERY_PREFIX = "method.request.querystring."


class PlanError(EdgemedicError):
    """A file that is not the JSON of ``terraform show -json``."""


class Unknown:
    """A value known only after apply, with the references its expression makes."""

    def __init__(self, address: str, path: str, references: list[str]):
        self.address, self.path, self.references = address, path, references

    def __repr__(self) -> str:
        return f"{self.address}.{self.path} (known after apply)"


def _modules(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield module
    for child in module.get("child_modules") or []:
        yield from _modules(child)


def _config_resources(module: Mapping[str, Any], prefix: str = "") -> dict[str, Mapping[str, Any]]:
    found = {f"{prefix}{r['address']}": r for r in module.get("resources") or []}
    for name, call in (module.get("module_calls") or {}).items():
        found.update(_config_resources(call.get("module") or {}, f"{prefix}module.{name}."))
    return found


class _Resource:
    def __init__(self, raw: Mapping[str, Any], unknown: Any, config: Mapping[str, Any] | None):
        self.address: str = raw["address"]
        self.type: str = raw.get("type", "")
        self.values: Mapping[str, Any] = raw.get("values") or {}
        self.unknown = unknown or {}
        self.expressions = (config or {}).get("expressions") or {}

    def get(self, *path: Any) -> Any:
        """The planned value at ``path`` (keys and list indexes), an :class:`Unknown`, or None when absent."""
        value: Any = self.values
        unknown: Any = self.unknown
        expression: Any = self.expressions
        for step in path:
            value = _step(value, step)
            unknown = _step(unknown, step)
            expression = _step(expression, step)
        if value is None and unknown is True:
            references = expression.get("references", []) if isinstance(expression, Mapping) else []
            return Unknown(self.address, ".".join(map(str, path)), list(references))
        return value


def _step(node: Any, step: Any) -> Any:
    if isinstance(node, Mapping):
        return node.get(step) if not isinstance(step, int) else None
    if isinstance(node, list) and isinstance(step, int):
        return node[step] if step < len(node) else None
    return None


def _block(resource: _Resource, name: str) -> list[int]:
    value = resource.values.get(name)
    return list(range(len(value))) if isinstance(value, list) else []


class _Plan:
    def __init__(self, plan: Mapping[str, Any], file: str):
        self.file = file
        self.builder = ModelBuilder("Terraform plan")
        changes = {c["address"]: (c.get("change") or {}).get("after_unknown") for c in plan.get("resource_changes")
                   or [] if "address" in c}
        config_root = (plan.get("configuration") or {})
        configs = _config_resources(config_root.get("root_module") or {})
        self.resources: dict[str, _Resource] = {}
        for module in _modules((plan.get("planned_values") or {}).get("root_module") or {}):
            for raw in module.get("resources") or []:
                if raw.get("mode", "managed") != "managed" or "address" not in raw:
                    continue
                config = configs.get(_INDEX.sub("", raw["address"]))
                self.resources[raw["address"]] = _Resource(raw, changes.get(raw["address"]), config)
        region = (((config_root.get("provider_config") or {}).get("aws") or {}).get("expressions") or {}).get(
            "region") or {}
        self.region = str(region.get("constant_value") or DEFAULT_REGION)
        self.suffix = partition_of(self.region)[1]
        self.ids: dict[str, str] = {}  # address -> id in the model
        self._by_type: dict[str, list[_Resource]] = {}
        self._by_address: dict[str, list[_Resource]] = {}  # address without instance keys -> instances
        for resource in self.resources.values():
            self._by_type.setdefault(resource.type, []).append(resource)
            self._by_address.setdefault(_INDEX.sub("", resource.address), []).append(resource)

    # ----------------------------------------------------------------------------------------- identities

    def of_type(self, *kinds: str) -> list[_Resource]:
        return [r for kind in kinds for r in self._by_type.get(kind, ())]

    def at(self, address: str) -> list[_Resource]:
        """The instances of a configuration address (``aws_x.y``, every ``aws_x.y[...]``)."""
        return self._by_address.get(_INDEX.sub("", address), [])

    def id_of(self, resource: _Resource, *, dns: bool = False) -> str:
        if resource.address not in self.ids:
            known = resource.values.get("id")
            if isinstance(known, str) and known:
                self.ids[resource.address] = known
            else:
                name = resource.address.removeprefix("module.")
                self.ids[resource.address] = re.sub(r"[^a-z0-9]", "", name.lower()) if dns else \
                    f"terraform:{resource.address}"
        return self.ids[resource.address]

    def referenced(self, value: Any, *kinds: str) -> _Resource | None:
        """The one resource of ``kinds`` a value names: by its known id, or by the references of its expression."""
        if isinstance(value, str):
            return next((r for r in self.of_type(*kinds)
                         if r.values.get("id") == value or self.ids.get(r.address) == value), None)
        if isinstance(value, Unknown):
            prefix = module_of(value.address)
            named = {prefix + ref.rsplit(".", 1)[0] for ref in value.references if "." in ref}
            named |= {prefix + ref for ref in value.references}
            found = {id(r): r for address in named for r in self.at(address) if r.type in kinds}
            return next(iter(found.values())) if len(found) == 1 else None
        return None

    # ----------------------------------------------------------------------------------------- APIs

    def apis(self) -> None:
        b = self.builder
        for r in self.of_type("aws_api_gateway_rest_api"):
            types = r.get("endpoint_configuration", 0, "types")
            endpoint = str(types[0]) if isinstance(types, list) and types else "EDGE"
            parts = ApiParts(self.id_of(r, dns=True), r.address, self.region, ApiProtocol.REST,
                             EndpointType(endpoint) if endpoint in EndpointType.__members__ else EndpointType.EDGE,
                             disable_execute_api_endpoint=r.values.get("disable_execute_api_endpoint") is True)
            self._body(parts, r, http=False)
            b.apis[(self.region, parts.id)] = parts
        for r in self.of_type("aws_apigatewayv2_api"):
            websocket = r.values.get("protocol_type") == "WEBSOCKET"
            parts = ApiParts(self.id_of(r, dns=True), r.address, self.region,
                             ApiProtocol.WEBSOCKET if websocket else ApiProtocol.HTTP, EndpointType.REGIONAL,
                             disable_execute_api_endpoint=r.values.get("disable_execute_api_endpoint") is True,
                             cors=bool(r.values.get("cors_configuration")))
            self._body(parts, r, http=True)
            if r.values.get("target") or isinstance(r.get("target"), Unknown):  # quick create
                parts.stages.add("$default")
                self._route(parts, str(r.values.get("route_key") or "$default"), {})
            b.apis[(self.region, parts.id)] = parts
        rest = ("aws_api_gateway_rest_api",)
        v2 = ("aws_apigatewayv2_api",)
        for r in self.of_type("aws_api_gateway_authorizer", "aws_apigatewayv2_authorizer"):
            parts = self._parts(r.get("rest_api_id") if r.type.startswith("aws_api_gateway_") else r.get("api_id"),
                                rest if r.type.startswith("aws_api_gateway_") else v2)
            if parts is None:
                continue
            if r.type == "aws_api_gateway_authorizer":
                sources = str(r.values.get("identity_source") or "method.request.header.Authorization")
                parts.authorizers[self.id_of(r)] = Authorizer(self.id_of(r), str(r.values.get("name", r.address)),
                                                              str(r.values.get("type") or "TOKEN"),
                                                              tuple(s.strip() for s in sources.split(",")))
            else:
                parts.authorizers[self.id_of(r)] = Authorizer(self.id_of(r), str(r.values.get("name", r.address)),
                                                              str(r.values.get("authorizer_type", "")),
                                                              tuple(r.values.get("identity_sources") or ()))
        self._rest_resources()
        for r in self.of_type("aws_apigatewayv2_route"):
            parts = self._parts(r.get("api_id"), v2)
            if parts is None:
                continue
            key = r.get("route_key")
            if not isinstance(key, str):
                parts.unresolved.append(f"route {r.address}: its route key is known only after apply")
                continue
            authorizer = self.referenced(r.get("authorizer_id"), "aws_apigatewayv2_authorizer")
            self._route(parts, key, {**r.values, "authorizer_id": self.id_of(authorizer) if authorizer else None})
        for r in self.of_type("aws_api_gateway_stage", "aws_api_gateway_deployment", "aws_apigatewayv2_stage"):
            parts = self._parts(r.get("api_id") if r.type == "aws_apigatewayv2_stage" else r.get("rest_api_id"),
                                v2 if r.type == "aws_apigatewayv2_stage" else rest)
            name = r.get("name") if r.type == "aws_apigatewayv2_stage" else r.get("stage_name")
            if parts is None or name in (None, ""):
                continue
            if not isinstance(name, str):
                parts.unresolved.append(f"stage {r.address}: its name is known only after apply")
                continue
            parts.stages.add(name)

    def _parts(self, value: Any, kinds: tuple[str, ...]) -> ApiParts | None:
        api = self.referenced(value, *kinds)
        return self.builder.apis.get((self.region, self.id_of(api, dns=True))) if api is not None else None

    def _body(self, parts: ApiParts, r: _Resource, *, http: bool) -> None:
        body = r.get("body")
        if body is None:
            return
        if not isinstance(body, str):
            parts.unresolved.append(f"its OpenAPI body ({r.address}.body) is known only after apply")
            return
        try:
            document = json.loads(body)
        except ValueError:
            try:
                import yaml

                document = yaml.safe_load(body)
            except Exception:  # noqa: BLE001 - any YAML error: the body is not read
                document = None
        if not isinstance(document, Mapping):
            parts.unresolved.append(f"its OpenAPI body ({r.address}.body) could not be parsed")
            return
        parts.add_openapi(parse_openapi(document, http=http))

    def _route(self, parts: ApiParts, route_key: str, values: Mapping[str, Any]) -> None:
        parts.add_route(route_key, authorization_type=str(values.get("authorization_type") or "NONE"),
                        authorizer_id=values.get("authorizer_id"), api_key_required=values.get("api_key_required") is True)

    def _rest_resources(self) -> None:
        paths: dict[str, str | None] = {}

        def path_of(value: Any, seen: frozenset[str] = frozenset()) -> str | None:
            if isinstance(value, Unknown) and any(ref.endswith(".root_resource_id") for ref in value.references):
                return "/"  # the root resource of the API the method or resource names
            if isinstance(value, str) and any(r.values.get("root_resource_id") == value
                                              for r in self.of_type("aws_api_gateway_rest_api")):
                return "/"
            resource = self.referenced(value, "aws_api_gateway_resource")
            return None if resource is None else resource_path(resource, seen)

        def resource_path(resource: _Resource, seen: frozenset[str] = frozenset()) -> str | None:
            if resource.address in seen:
                return None
            if resource.address not in paths:
                known = resource.values.get("path")
                if isinstance(known, str):
                    paths[resource.address] = known
                else:
                    parent = path_of(resource.get("parent_id"), seen | {resource.address})
                    part = resource.values.get("path_part")
                    paths[resource.address] = None if parent is None or not isinstance(part, str) else \
                        f"{parent.rstrip('/')}/{part}"
            return paths[resource.address]

        for r in self.of_type("aws_api_gateway_resource"):
            parts = self._parts(r.get("rest_api_id"), ("aws_api_gateway_rest_api",))
            if parts is None:
                continue
            path = resource_path(r)
            if path is None:
                parts.unresolved.append(f"the path of {r.address} is not known")
            else:
                parts.resources.setdefault(path, [])
        for r in self.of_type("aws_api_gateway_method"):
            parts = self._parts(r.get("rest_api_id"), ("aws_api_gateway_rest_api",))
            if parts is None:
                continue
            path = path_of(r.get("resource_id"))
            verb = r.values.get("http_method")
            if path is None or not isinstance(verb, str):
                parts.unresolved.append(f"{r.address}: its resource or method is not known")
                continue
            authorizer = self.referenced(r.get("authorizer_id"), "aws_api_gateway_authorizer")
            query = tuple(sorted(k[len(_QUERY_PREFIX):] for k in (r.values.get("request_parameters") or {})
                                 if k.startswith(_QUERY_PREFIX)))
            parts.resources.setdefault(path, []).append(ApiMethod(
                verb.upper(), str(r.values.get("authorization") or "NONE"),
                self.id_of(authorizer) if authorizer else None, r.values.get("api_key_required") is True, query))

    # ----------------------------------------------------------------------------------------- load balancers

    def lb_dns(self, resource: _Resource) -> str:
        known = resource.values.get("dns_name")
        if isinstance(known, str) and known:
            return known.lower()
        return f"{re.sub(r'[^a-z0-9]', '', resource.address.lower())}-plan.{self.region}.elb.{self.suffix}"

    def load_balancers(self) -> None:
        """ALBs/NLBs with their HTTPS/TLS listeners' ACM certificates (issued once apply finishes) and the Route 53
        records in the plan that point at them."""
        b = self.builder
        certificates = {}
        for r in self.of_type("aws_acm_certificate"):
            names = [r.values.get("domain_name"), *(r.values.get("subject_alternative_names") or [])]
            if all(isinstance(n, str) for n in names):
                arn = r.values.get("arn") if isinstance(r.values.get("arn"), str) else f"terraform:{r.address}"
                self.ids[r.address] = arn
                certificates[arn] = Certificate(arn, tuple(dict.fromkeys(n.lower() for n in names)), "ISSUED")
        aliases: dict[str, set[str]] = {}
        for r in self.of_type("aws_route53_record"):
            name = r.values.get("name")
            for alias in r.values.get("alias") or []:
                target = alias.get("name") if isinstance(alias, Mapping) else None
                lb = None
                if target is None:
                    index = (r.values.get("alias") or []).index(alias)
                    lb = self.referenced(r.get("alias", index, "name"), "aws_lb", "aws_alb")
                if isinstance(name, str):
                    dns = self.lb_dns(lb) if lb is not None else str(target or "").lower().rstrip(".")
                    aliases.setdefault(dns.removeprefix("dualstack."), set()).add(name.rstrip(".").lower())
        for r in self.of_type("aws_lb", "aws_alb"):
            dns = self.lb_dns(r)
            arns: list[str] = []
            for listener in self.of_type("aws_lb_listener", "aws_alb_listener"):
                if self.referenced(listener.get("load_balancer_arn"), "aws_lb", "aws_alb") is not r or \
                        listener.values.get("protocol") not in ("HTTPS", "TLS"):
                    continue
                certificate = self.referenced(listener.get("certificate_arn"), "aws_acm_certificate")
                value = listener.values.get("certificate_arn")
                arn = self.ids.get(certificate.address) if certificate is not None else value
                if isinstance(arn, str):
                    arns.append(arn)
                    if arn in certificates:
                        b.certificates[arn] = certificates[arn]
                    else:
                        b.unreadable[certificate_key(arn)] = Unreadable(f"certificate {arn}", "not in this plan")
                else:
                    b.unreadable[load_balancer_key(dns)] = Unreadable(
                        f"load balancer {r.address}", f"the certificate of {listener.address} is not known")
            if load_balancer_key(dns) in b.unreadable:
                continue
            b.load_balancers[dns] = LoadBalancer(str(r.values.get("arn") or f"terraform:{r.address}"), dns,
                                                 "internal" if r.values.get("internal") else "internet-facing",
                                                 tuple(arns), tuple(sorted(aliases.get(dns, ()))))

    # ----------------------------------------------------------------------------------------- custom domains

    def custom_domains(self) -> None:
        b = self.builder
        found: dict[str, CustomDomain] = {}
        for r in self.of_type("aws_api_gateway_domain_name", "aws_apigatewayv2_domain_name"):
            name = r.values.get("domain_name")
            if not isinstance(name, str):
                continue
            if r.type == "aws_api_gateway_domain_name":
                types = r.values.get("endpoint_configuration") or [{}]
                endpoint = str(((types[0] or {}).get("types") or ["EDGE"])[0])
                target = r.values.get("regional_domain_name") if endpoint == "REGIONAL" else \
                    r.values.get("cloudfront_domain_name")
            else:
                configuration = (r.values.get("domain_name_configuration") or [{}])[0] or {}
                endpoint = str(configuration.get("endpoint_type", "REGIONAL"))
                target = configuration.get("target_domain_name")
            synthetic = re.sub(r"[^a-z0-9]", "", r.address.lower())
            if not isinstance(target, str):
                target = f"d-{synthetic}.execute-api.{self.region}.{self.suffix}" if endpoint == "REGIONAL" \
                    else f"{synthetic}.cloudfront.net"
            self.ids[f"target:{r.address}"] = target
            endpoint_type = EndpointType(endpoint) if endpoint in EndpointType.__members__ else EndpointType.EDGE
            found[r.address] = CustomDomain(
                name, self.region, endpoint_type,
                regional_domain_name=target if endpoint_type is EndpointType.REGIONAL else None,
                distribution_domain_name=target if endpoint_type is EndpointType.EDGE else None)
        mappings: dict[str, list[ApiMapping]] = {address: [] for address in found}
        for r in self.of_type("aws_api_gateway_base_path_mapping", "aws_apigatewayv2_api_mapping"):
            domain = self.referenced(r.get("domain_name"), "aws_api_gateway_domain_name",
                                     "aws_apigatewayv2_domain_name")
            if domain is None and isinstance(r.values.get("domain_name"), str):
                domain = next((d for d in self.of_type("aws_api_gateway_domain_name", "aws_apigatewayv2_domain_name")
                               if d.values.get("domain_name") == r.values["domain_name"]), None)
            api = self.referenced(r.get("api_id"), "aws_api_gateway_rest_api", "aws_apigatewayv2_api")
            if domain is None or domain.address not in found:
                continue
            stage = r.values.get("stage_name", r.values.get("stage"))
            if api is None or (stage is None and isinstance(r.get("stage_name"), Unknown)):
                b.unreadable[custom_domain_key(found[domain.address].name)] = Unreadable(
                    f"custom domain {found[domain.address].name}", f"mapping {r.address} is not known")
                continue
            base = r.values.get("base_path", r.values.get("api_mapping_key")) or ""
            mappings[domain.address].append(ApiMapping(str(base).strip("/"), self.id_of(api, dns=True),
                                                       str(stage) if stage else None))
        for address, domain in found.items():
            if custom_domain_key(domain.name) in b.unreadable:
                continue
            b.custom_domains[domain.name.lower()] = CustomDomain(
                domain.name, domain.region, domain.endpoint_type, domain.regional_domain_name,
                domain.distribution_domain_name, mappings=tuple(sorted(mappings[address],
                                                                       key=lambda m: m.base_path)))

    # ----------------------------------------------------------------------------------------- distributions

    def policies(self) -> None:
        b = self.builder
        for r in self.of_type("aws_cloudfront_cache_policy"):
            params = (r.values.get("parameters_in_cache_key_and_forwarded_to_origin") or [{}])[0] or {}
            b.cache_policies[self.id_of(r)] = cache_policy(self.id_of(r), {
                "Name": r.values.get("name", r.address), "MinTTL": r.values.get("min_ttl", 0),
                "DefaultTTL": r.values.get("default_ttl", 86400), "MaxTTL": r.values.get("max_ttl", 31536000),
                "ParametersInCacheKeyAndForwardedToOrigin": _policy_parts(params)})
        for r in self.of_type("aws_cloudfront_origin_request_policy"):
            b.origin_request_policies[self.id_of(r)] = origin_request_policy(self.id_of(r), {
                "Name": r.values.get("name", r.address), **_policy_parts(r.values)})

    def distribution(self, r: _Resource) -> None:
        b = self.builder
        unknown = [path for path in _unknown_paths(r.unknown) if not _RESOLVED_APART.search(path)
                   and path.split(".", 1)[0] in ("origin", "default_cache_behavior", "ordered_cache_behavior")]
        if unknown:
            b.warn(f"distribution {r.address} is not scanned: {', '.join(unknown)} known only after apply")
            return
        b.lines[r.address] = DistributionLines(self.file, r.address, None)
        origins = [self._origin(r, i) for i in _block(r, "origin")]
        behaviors = [self._behavior(r, "ordered_cache_behavior", i) for i in _block(r, "ordered_cache_behavior")]
        default = self._behavior(r, "default_cache_behavior", 0)
        problems = [p for p in [*behaviors, default] if isinstance(p, str)]
        if problems or not isinstance(default, dict):
            b.warn(f"distribution {r.address} is not scanned: {problems[0] if problems else 'no default behavior'}")
            b.lines.pop(r.address)
            return
        aliases = r.get("aliases")
        if isinstance(aliases, Unknown):
            b.warn(f"distribution {r.address}: its aliases are known only after apply")
            # One may be an API Gateway custom domain mapped to the API (Host intent): a stand-in alias whose
            # answer is unreadable keeps that open, as the template loader does for an unresolved alias.
            aliases = ["unresolved-alias.invalid"]
            b.unreadable[custom_domain_key(aliases[0])] = Unreadable(
                f"the aliases of {r.address}", "known only after apply")
        for alias in aliases or []:
            if alias.lower() not in b.custom_domains:
                b.unreadable.setdefault(custom_domain_key(alias), Unreadable(
                    f"whether {alias} is an API Gateway custom domain",
                    "not in this plan; one managed elsewhere cannot be seen by a plan scan"))
        config = {"Enabled": r.values.get("enabled") is not False, "Aliases": items(sorted(aliases or [])),
                  "Origins": items(origins), "DefaultCacheBehavior": default, "CacheBehaviors": items(behaviors)}
        errors = r.get("custom_error_response")
        if isinstance(errors, Unknown):
            b.warn(f"distribution {r.address}: its custom error responses are known only after apply; "
                   "custom-error-masks-api stays silent")
        elif errors:  # custom-error-masks-api reads them
            config["CustomErrorResponses"] = items(
                {"ErrorCode": int(e.get("error_code") or 0), "ResponsePagePath": str(e.get("response_page_path") or ""),
                 "ResponseCode": str(e.get("response_code") or "")} for e in errors if isinstance(e, dict))
        known_id = r.values.get("id")
        b.configs.append(({"Id": r.address, "ARN": r.values.get("arn") or "", "Status": "Plan",
                           "DomainName": r.values.get("domain_name") or f"{known_id or 'planned'}.cloudfront.net"},
                          config))

    def _origin(self, r: _Resource, i: int) -> dict[str, Any]:
        b = self.builder
        origin_id = str(r.get("origin", i, "origin_id"))
        domain = r.get("origin", i, "domain_name")
        s3 = bool(r.values["origin"][i].get("s3_origin_config"))
        if isinstance(domain, Unknown):
            domain = self._domain_from_references(domain, r, origin_id)
        path = r.get("origin", i, "origin_path") or ""
        if isinstance(path, Unknown):
            b.warn(f"distribution {r.address}: the origin_path of origin {origin_id} is known only after apply; the "
                   "rules that route requests through it stay silent")
            stand_in = f"pathunknown{len(b.unreadable)}"
            b.unreadable[api_key(self.region, stand_in)] = Unreadable(f"API behind origin {origin_id}",
                                                                      "origin_path known only after apply")
            domain, path = f"{stand_in}.execute-api.{self.region}.{self.suffix}", ""
        kind, target = classify_origin(domain, b.custom_domains, s3_origin_config=s3)
        if kind is OriginKind.LOAD_BALANCER and domain.lower() not in b.load_balancers:
            b.unreadable.setdefault(load_balancer_key(domain.lower()), Unreadable(f"load balancer {domain}",
                                                                                 "not in this plan"))
        if target is not None and target.via == "execute-api" and (target.region, target.api_id) not in b.apis:
            b.unreadable.setdefault(api_key(target.region, target.api_id),
                                    Unreadable(f"API {target.api_id}", "not in this plan"))
        api: dict[str, Any] = {"Id": origin_id, "DomainName": domain, "OriginPath": str(path).rstrip("/"),
                               "CustomHeaders": items({"HeaderName": h.get("name")}
                                                      for h in r.values["origin"][i].get("custom_header") or [])}
        custom = (r.values["origin"][i].get("custom_origin_config") or [None])[0]
        if custom:
            api["CustomOriginConfig"] = {
                "HTTPPort": int(custom.get("http_port") or 80), "HTTPSPort": int(custom.get("https_port") or 443),
                "OriginProtocolPolicy": str(custom.get("origin_protocol_policy")),
                "OriginSslProtocols": items(sorted(custom.get("origin_ssl_protocols") or [])),
            }
            if isinstance(custom.get("origin_read_timeout"), int):
                api["CustomOriginConfig"]["OriginReadTimeout"] = custom["origin_read_timeout"]
        elif s3:
            api["S3OriginConfig"] = {"OriginAccessIdentity": ""}
        return api

    def _domain_from_references(self, domain: Unknown, r: _Resource, origin_id: str) -> str:
        """An origin domain known after apply: the API, custom domain, bucket or load balancer its expression
        names, when it names exactly one; else an unknown stand-in."""
        b = self.builder
        targets = []
        for ref in domain.references:
            address, _, attribute = (module_of(domain.address) + _INDEX.sub("", ref)).rpartition(".")
            instances = self.at(address)
            if len(instances) != 1:
                continue
            resource = instances[0]
            if resource.type in ("aws_api_gateway_rest_api", "aws_apigatewayv2_api") and attribute in (
                    "id", "api_endpoint"):
                targets.append(f"{self.id_of(resource, dns=True)}.execute-api.{self.region}.{self.suffix}")
            elif resource.type in ("aws_api_gateway_stage", "aws_api_gateway_deployment", "aws_apigatewayv2_stage") \
                    and attribute == "invoke_url":
                api = self.referenced(resource.get("rest_api_id" if resource.type != "aws_apigatewayv2_stage"
                                                   else "api_id"), "aws_api_gateway_rest_api", "aws_apigatewayv2_api")
                if api is not None:
                    targets.append(f"{self.id_of(api, dns=True)}.execute-api.{self.region}.{self.suffix}")
            elif resource.type in ("aws_api_gateway_domain_name", "aws_apigatewayv2_domain_name") and \
                    f"target:{resource.address}" in self.ids:
                targets.append(self.ids[f"target:{resource.address}"])
            elif resource.type in ("aws_lb", "aws_alb") and attribute == "dns_name":
                targets.append(self.lb_dns(resource))
            elif resource.type == "aws_s3_bucket" and attribute in ("bucket_regional_domain_name",
                                                                    "bucket_domain_name"):
                targets.append(f"{re.sub(r'[^a-z0-9]', '', resource.address.lower())}.s3.{self.suffix}")
        if len(set(targets)) == 1:
            return targets[0]
        b.warn(f"distribution {r.address}: the domain of origin {origin_id} is known only after apply and its "
               f"expression ({', '.join(domain.references) or 'no references'}) does not name one API, bucket or "
               "custom domain; the rules that need to know what it is stay silent")
        return f"unresolved{len(b.warnings)}"

    def _behavior(self, r: _Resource, block: str, i: int) -> dict[str, Any] | str:
        raw = (r.values.get(block) or [None])[i] if len(r.values.get(block) or []) > i else None
        if not isinstance(raw, Mapping):
            return f"{block} is known only after apply"
        for field in ("target_origin_id", "viewer_protocol_policy", "allowed_methods", "path_pattern"):
            if isinstance(r.get(block, i, field), Unknown):
                return f"{block}[{i}].{field} is known only after apply"
        api: dict[str, Any] = {
            "TargetOriginId": raw.get("target_origin_id"),
            "ViewerProtocolPolicy": raw.get("viewer_protocol_policy"),
            "AllowedMethods": {**items(sorted(raw.get("allowed_methods") or ["GET", "HEAD"])),
                               "CachedMethods": items(sorted(raw.get("cached_methods") or ["GET", "HEAD"]))},
            "FunctionAssociations": items({"EventType": a.get("event_type")}
                                          for a in raw.get("function_association") or []),
            "LambdaFunctionAssociations": items({"EventType": a.get("event_type")}
                                                for a in raw.get("lambda_function_association") or []),
        }
        if block == "ordered_cache_behavior":
            api["PathPattern"] = raw.get("path_pattern")
        for field, key, kind, store in (
                ("cache_policy_id", "CachePolicyId", "aws_cloudfront_cache_policy", self.builder.cache_policies),
                ("origin_request_policy_id", "OriginRequestPolicyId", "aws_cloudfront_origin_request_policy",
                 self.builder.origin_request_policies)):
            value = r.get(block, i, field)
            if isinstance(value, Unknown):
                policy = self.referenced(value, kind)
                if policy is not None:
                    value = self.id_of(policy)
                else:
                    value = f"unresolved-{field}-{r.address}"
                    store[value] = Unreadable(f"{field} of {r.address}", "known only after apply")
            if value:
                api[key] = value
        if "CachePolicyId" not in api:
            forwarded = (raw.get("forwarded_values") or [{}])[0] or {}
            cookies = (forwarded.get("cookies") or [{}])[0] or {}
            api["ForwardedValues"] = {
                "QueryString": forwarded.get("query_string") is True,
                "Cookies": {"Forward": cookies.get("forward", "none")},
                "Headers": items(forwarded.get("headers") or []),
                "QueryStringCacheKeys": items(forwarded.get("query_string_cache_keys") or []),
            }
            for field, key in (("min_ttl", "MinTTL"), ("default_ttl", "DefaultTTL"), ("max_ttl", "MaxTTL")):
                if isinstance(raw.get(field), int):
                    api[key] = raw[field]
        return api


# Values known only after apply that the loader resolves from references (or that the rules never read).
_RESOLVED_APART = re.compile(r"^origin\.\d+\.(domain_name|origin_path)$|"
                             r"\.(cache_policy_id|origin_request_policy_id|response_headers_policy_id|"
                             r"realtime_log_config_arn|trusted_key_groups.*|function_arn|lambda_arn)$|"
                             r"^origin\.\d+\.(origin_access_control_id|s3_origin_config\..*|"
                             r"custom_origin_config\.\d+\.(origin_read_timeout|origin_keepalive_timeout))$")


def _unknown_paths(unknown: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves ``after_unknown`` marks true."""
    if unknown is True:
        return [prefix]
    if isinstance(unknown, Mapping):
        return [p for key, value in unknown.items() for p in _unknown_paths(value, f"{prefix}.{key}" if prefix
                                                                              else str(key))]
    if isinstance(unknown, list):
        return [p for i, value in enumerate(unknown) for p in _unknown_paths(value, f"{prefix}.{i}")]
    return []


def _policy_parts(params: Mapping[str, Any]) -> dict[str, Any]:
    """Terraform's nested blocks of a policy, in CloudFormation's shape (lists)."""
    def config(block: str, behavior: str, member: str, names: str) -> dict[str, Any]:
        raw = (params.get(block) or [{}])[0] or {}
        listed = (raw.get(names) or [{}])[0] or {}
        return {behavior: raw.get(behavior, "none"), member: sorted(listed.get("items") or [])}

    return {"HeadersConfig": config("headers_config", "HeaderBehavior", "Headers", "headers"),
            "CookiesConfig": config("cookies_config", "CookieBehavior", "Cookies", "cookies"),
            "QueryStringsConfig": config("query_strings_config", "QueryStringBehavior", "QueryStrings",
                                         "query_strings")}


def load_plan(path: Path, *, display: str | None = None) -> SourceScan:
    try:
        text = path.read_text(encoding="utf-8")
        plan = json.loads(text)
    except FileNotFoundError as exc:
        raise PlanError(f"{path}: no such file") from exc
    except ValueError as exc:
        raise PlanError(f"{path}: not JSON ({exc}); give the output of `terraform show -json PLANFILE`") from exc
    if not isinstance(plan, Mapping) or "planned_values" not in plan:
        raise PlanError(f"{path}: no planned_values; give the output of `terraform show -json PLANFILE` (a plan, "
                        "not a state)")
    loader = _Plan(plan, display or str(path))
    loader.policies()
    loader.apis()
    loader.custom_domains()
    loader.load_balancers()
    for resource in loader.of_type("aws_cloudfront_distribution"):
        loader.distribution(resource)
    inventory = loader.builder.inventory()
    if "\n" in text.strip():  # `terraform show -json` writes one line; a pretty-printed plan has lines to point at
        for address, lines in loader.builder.lines.items():
            found = re.search(r'"address"\s*:\s*' + re.escape(json.dumps(address)), text)
            lines.line = text.count("\n", 0, found.start()) + 1 if found else None
    return SourceScan(loader.file, inventory, dict(loader.builder.lines))


def load_plans(paths: list[Path], *, relative_to: Path | None = None) -> list[SourceScan]:
    return [load_plan(path, display=display_name(path, relative_to)) for path in paths]


__all__ = ["load_plan", "load_plans", "PlanError"]
