"""CloudFormation, SAM and CDK cloud assemblies -> the model. No AWS call.

    scans = load_template(Path("template.yaml"), parameters={"Stage": "prod"})

The file is decoded with cfn-lint's decoder (YAML short-form tags, JSON, line numbers), a SAM template is
transformed with the AWS SAM translator (the implicit ``ServerlessRestApi``, function events, HTTP APIs), and every
intrinsic function is resolved symbolically (:mod:`.intrinsics`): ``Ref`` to an API gives the id it will have, so an
origin domain built as ``${MyApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}`` (or cut out of the API's URL
with ``Fn::Select``/``Fn::Split``, as CDK's RestApiOrigin does) is the API origin of MyApi. A resource's id in the
model is its logical id (lower-cased for API ids, which live in host names).

What stays unresolved (an import, a parameter without a value, an API defined in another stack, a policy id from
outside) is recorded as unreadable, with a warning naming it, and the rules that need it stay silent.
Both libraries are imported here only, so the live CLI never pays for them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..collect.origins import classify_origin, execute_api_id
from ..errors import EdgemedicError
from ..model import (
    ApiMapping,
    ApiMethod,
    ApiProtocol,
    Authorizer,
    Certificate,
    CustomDomain,
    EndpointType,
    Inventory,
    LoadBalancer,
    OriginKind,
    Unreadable,
    api_key,
    custom_domain_key,
    load_balancer_key,
)
from .build import (
    ApiParts,
    DistributionLines,
    ModelBuilder,
    SourceScan,
    display_name,
    cache_policy,
    items,
    origin_request_policy,
    parse_openapi,
)
from .intrinsics import Resolver, partition_of

DEFAULT_REGION = "us-east-1"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# A SAM function needs code to be translated; the scan never reads it.
_PLACEHOLDER_CODE = "s3://edgemedic-template-scan/code.zip"
_LOCAL_ARTIFACTS = (
    ("AWS::Serverless::LayerVersion", "ContentUri", _PLACEHOLDER_CODE),
    ("AWS::Serverless::StateMachine", "DefinitionUri", "s3://edgemedic-template-scan/statemachine.json"),
    ("AWS::Serverless::Application", "Location", "https://edgemedic-template-scan.s3.amazonaws.com/app.yaml"),
)
_DISTRIBUTION = "AWS::CloudFront::Distribution"
_OUTSIDE = "defined outside this template"
_QUERY_PREFIX = "method.request.querystring."


class TemplateError(EdgemedicError):
    """A template that cannot be read or transformed."""


# --------------------------------------------------------------------------------------------- files


def template_files(path: Path) -> list[tuple[Path, str | None]]:
    """(template file, region or None) for a template, or for each stack of a CDK cloud assembly directory."""
    if not path.is_dir():
        if not path.exists():
            raise TemplateError(f"{path}: no such file or directory")
        return [(path, None)]
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise TemplateError(f"{path} is a directory without manifest.json: give a template file or a CDK cloud "
                            "assembly (cdk.out)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"{manifest_path}: not a CDK cloud assembly manifest ({exc})") from exc
    found: list[tuple[Path, str | None]] = []
    for artifact in (manifest.get("artifacts") or {}).values():
        if artifact.get("type") == "aws:cloudformation:stack":
            template = (artifact.get("properties") or {}).get("templateFile")
            if template:
                region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
                found.append((path / template, None if region in ("", "unknown-region") else region))
        elif artifact.get("type") == "cdk:cloud-assembly":  # nested assemblies (CDK stages)
            directory = (artifact.get("properties") or {}).get("directoryName")
            if directory:
                found.extend(template_files(path / directory))
    return found


_INSTALL = "pip install 'edgemedic[templates]'"


def _decode(path: Path, warnings: list[str] | None = None) -> dict:
    try:
        from cfnlint.decode import decode
    except ImportError as exc:
        raise TemplateError(f"the template scan needs cfn-lint's decoder: {_INSTALL}") from exc

    template, matches = decode(str(path))
    if template is None and matches and all("Duplicate found" in m.message for m in matches):
        # CloudFormation deploys such templates (the last value wins, as in most YAML parsers); cfn-lint rejects
        # them (E0000). Read them the way they deploy, and say so.
        template = _decode_last_wins(path)
        if warnings is not None:
            warnings.extend(f"{path} line {m.linenumber}: {m.message}; the last value is used (cfn-lint E0000)"
                            for m in matches)
    if template is None or not isinstance(template, Mapping):
        first = matches[0] if matches else None
        where = f" line {first.linenumber}" if first is not None and getattr(first, "linenumber", None) else ""
        message = first.message if first is not None else "not a CloudFormation template"
        raise TemplateError(f"{path}{where}: {message}")
    return template


def _decode_last_wins(path: Path) -> dict | None:
    from cfnlint.decode import cfn_yaml
    from cfnlint.decode.node import dict_node
    from yaml.constructor import SafeConstructor

    class LastWins(cfn_yaml.CfnFullLoader):
        def construct_yaml_map(self, node):  # type: ignore[override]
            self.flatten_mapping(node)
            (obj,) = SafeConstructor.construct_yaml_map(self, node)
            return dict_node(obj, node.start_mark, node.end_mark)

    LastWins.add_constructor("tag:yaml.org,2002:map", LastWins.construct_yaml_map)
    loader = LastWins(path.read_text(encoding="utf-8"), str(path))
    loader.add_multi_constructor("!", cfn_yaml.multi_constructor)
    try:
        return loader.get_single_data()
    except Exception:  # noqa: BLE001 - the first error is the one reported
        return None


def _line(node: Any) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def _is_sam(template: Mapping) -> bool:
    transform = template.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in [str(n) for n in names if isinstance(n, str)]


def _sam_translate(template: dict, parameters: Mapping[str, str], region: str, base: Path) -> dict:
    try:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
    except ImportError as exc:
        raise TemplateError(f"a SAM template needs the AWS SAM translator: {_INSTALL}") from exc

    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        props = resource.setdefault("Properties", {}) if resource.get("Type", "").startswith("AWS::Serverless::") \
            else None
        if props is None:
            continue
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function" and not any(k in props for k in ("InlineCode", "ImageUri")):
            if not str(props.get("CodeUri", "")).startswith("s3://") and not isinstance(props.get("CodeUri"), dict):
                props["CodeUri"] = _PLACEHOLDER_CODE
        for uri_kind, key, placeholder in _LOCAL_ARTIFACTS:
            if kind == uri_kind and isinstance(props.get(key), str) and "://" not in props[key]:
                props[key] = placeholder  # what `sam package` would upload; the scan never reads it
        if kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and isinstance(props.get("DefinitionUri"),
                                                                                       str):
            local = base / props["DefinitionUri"]
            if local.is_file():  # what `sam package` would inline
                props.pop("DefinitionUri")
                props["DefinitionBody"] = _decode(local)
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name=region))
    try:
        return translator.translate(template, {**parameters, "AWS::Region": region})
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause) for cause in exc.causes) or str(exc)
        raise TemplateError(f"the SAM translator rejected the template: {causes}") from exc


# --------------------------------------------------------------------------------------------- the loader


def load_template(path: Path, *, parameters: Mapping[str, str] | None = None, display: str | None = None,
                  region: str | None = None) -> SourceScan:
    """The model of one template file. ``display`` is the file name findings carry (default: ``path``)."""
    parameters = dict(parameters or {})
    region = parameters.get("AWS::Region") or region or DEFAULT_REGION
    decode_warnings: list[str] = []
    raw = _decode(path, decode_warnings)
    lines = _distribution_lines(raw, display or str(path))
    template = raw
    if _is_sam(raw):
        import copy

        template = _sam_translate(copy.deepcopy(raw), parameters, region, path.parent)
    loader = _Loader(template, parameters, region, display or str(path))
    for warning in decode_warnings:
        loader.builder.warn(warning.replace(str(path), display or str(path), 1))
    inventory = loader.load(lines)
    return SourceScan(display or str(path), inventory, {k: v for k, v in lines.items()
                                                        if any(d.id == k for d in inventory.distributions)})


def _distribution_lines(template: Mapping, file: str) -> dict[str, DistributionLines]:
    found: dict[str, DistributionLines] = {}
    for logical, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") != _DISTRIBUTION:
            continue
        lines = DistributionLines(file, str(logical), _line(logical))
        config = (resource.get("Properties") or {}).get("DistributionConfig") or {}
        if not isinstance(config, Mapping):
            continue
        for behavior in config.get("CacheBehaviors") or [] if isinstance(config.get("CacheBehaviors"), list) else []:
            if isinstance(behavior, Mapping) and isinstance(behavior.get("PathPattern"), str):
                lines.behaviors[str(behavior["PathPattern"])] = _line(behavior) or lines.line
        default_key = next((key for key in config if key == "DefaultCacheBehavior"), None)
        if isinstance(config.get("DefaultCacheBehavior"), Mapping):
            lines.behaviors["*"] = _line(default_key) or lines.line
        for origin in config.get("Origins") or [] if isinstance(config.get("Origins"), list) else []:
            if isinstance(origin, Mapping) and isinstance(origin.get("Id"), str):
                lines.origins[str(origin["Id"])] = _line(origin) or lines.line
        found[str(logical)] = lines
    return found


class _Loader:
    def __init__(self, template: Mapping, parameters: Mapping[str, str], region: str, file: str):
        self.template = template
        self.region = region
        self.suffix = partition_of(region)[1]
        self.file = file
        self.resources: dict[str, Mapping] = {
            str(k): v for k, v in (template.get("Resources") or {}).items() if isinstance(v, Mapping)}
        self.resolver = Resolver(template, parameters=parameters, region=region, reference=self.reference)
        self.builder = ModelBuilder("template")
        self._props: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------- references

    def type_of(self, logical: str) -> str:
        return str(self.resources.get(logical, {}).get("Type", ""))

    def props(self, logical: str) -> Mapping[str, Any]:
        if logical not in self._props:
            self._props[logical] = {}  # a reference cycle resolves to nothing known
            raw = self.resources.get(logical, {}).get("Properties") or {}
            value = self.resolver.value(raw)
            self._props[logical] = value if isinstance(value, Mapping) else {}
        return self._props[logical]

    def known(self, value: Any) -> bool:
        return not self.resolver.unknowns_in(value)

    def reference(self, logical: str, attribute: str | None) -> str | None:
        """The value ``Ref`` (attribute None) or ``Fn::GetAtt`` gives, where the model needs it."""
        kind = self.type_of(logical)
        low = logical.lower()
        if kind in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
            if attribute is None or attribute == "ApiId":
                return low
            if attribute == "RootResourceId":
                return f"root:{logical}"
            if attribute == "ApiEndpoint":
                scheme = "wss" if str(self.props(logical).get("ProtocolType")) == "WEBSOCKET" else "https"
                return f"{scheme}://{low}.execute-api.{self.region}.{self.suffix}"
            return None
        if kind == "AWS::ApiGateway::Resource" and attribute in (None, "ResourceId"):
            return f"resource:{logical}"
        if kind in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage") and attribute is None:
            name = self.props(logical).get("StageName")
            return name if isinstance(name, str) else None
        if kind in ("AWS::ApiGateway::Authorizer", "AWS::ApiGatewayV2::Authorizer") and attribute in (
                None, "AuthorizerId"):
            return f"authorizer:{logical}"
        if kind in ("AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName"):
            if attribute is None:
                name = self.props(logical).get("DomainName")
                return name if isinstance(name, str) else None
            if attribute in ("RegionalDomainName", "RegionalDomainNameWithSuffix"):
                return f"d-{low}.execute-api.{self.region}.{self.suffix}"
            if attribute == "DistributionDomainName":
                return f"{low}.cloudfront.net"
            return None
        if kind in ("AWS::CloudFront::CachePolicy", "AWS::CloudFront::OriginRequestPolicy",
                    "AWS::CloudFront::ResponseHeadersPolicy") and attribute in (None, "Id"):
            return f"template:{logical}"
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            if attribute == "DNSName":
                return f"{low}-template.{self.region}.elb.{self.suffix}"
            if attribute in (None, "LoadBalancerArn"):
                return f"arn:aws:elasticloadbalancing:{self.region}:template:loadbalancer/app/{logical}"
            return None
        if kind == "AWS::ElasticLoadBalancingV2::Listener" and attribute in (None, "ListenerArn"):
            return f"arn:aws:elasticloadbalancing:{self.region}:template:listener/app/{logical}"
        if kind == "AWS::CertificateManager::Certificate" and attribute is None:
            return f"arn:aws:acm:{self.region}:template:certificate/{logical}"
        if kind == "AWS::S3::Bucket":
            name = self.props(logical).get("BucketName")
            name = name if isinstance(name, str) and self.known(name) else low
            return {None: name, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.{self.suffix}",
                    "RegionalDomainName": f"{name}.s3.{self.region}.{self.suffix}",
                    "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.{self.suffix}",
                    "WebsiteURL": f"http://{name}.s3-website-{self.region}.{self.suffix}"}.get(attribute)
        if kind == "AWS::Lambda::Url" and attribute == "FunctionUrl":
            return f"https://{low}.lambda-url.{self.region}.on.aws/"
        if kind == _DISTRIBUTION:
            return {None: logical, "Id": logical, "DomainName": f"{low}.cloudfront.net"}.get(attribute)
        return None

    # ----------------------------------------------------------------------------------------- loading

    def exists(self, logical: str) -> bool | None:
        condition = self.resources[logical].get("Condition")
        return True if condition is None else self.resolver.condition(str(condition))

    def of_type(self, *kinds: str) -> list[tuple[str, Mapping[str, Any]]]:
        found = []
        for logical, resource in self.resources.items():
            if resource.get("Type") in kinds and self.exists(logical) is not False:
                found.append((logical, self.props(logical)))
        return found

    def load(self, lines: Mapping[str, DistributionLines]) -> Inventory:
        self.builder.lines = dict(lines)
        for logical, resource in self.resources.items():
            kind = str(resource.get("Type", ""))
            if kind in ("AWS::CloudFormation::Stack", "AWS::Serverless::Application"):
                self.builder.warn(f"nested stack {logical} is not scanned; scan its template on its own")
        self._policies()
        self._apis()
        self._custom_domains()
        self._load_balancers()
        for logical, _ in self.of_type(_DISTRIBUTION):
            self._distribution(logical)
        return self.builder.inventory()

    def _policies(self) -> None:
        b = self.builder
        for kind, member, store, build, what in (
                ("AWS::CloudFront::CachePolicy", "CachePolicyConfig", b.cache_policies, cache_policy, "cache policy"),
                ("AWS::CloudFront::OriginRequestPolicy", "OriginRequestPolicyConfig", b.origin_request_policies,
                 origin_request_policy, "origin request policy")):
            for logical, props in self.of_type(kind):
                config = props.get(member) or {}
                policy_id = f"template:{logical}"
                problems = self.resolver.unknowns_in({k: v for k, v in config.items() if k != "Name"})
                name = config.get("Name") if self.known(config.get("Name")) and config.get("Name") else logical
                store[policy_id] = (Unreadable(f"{what} {logical}", "unresolved: " + ", ".join(problems)) if problems
                                    else build(policy_id, {**config, "Name": name}))

    # ----------------------------------------------------------------------------------------- APIs

    def _api_of(self, value: Any) -> ApiParts | None:
        """The API a child resource names by ``RestApiId``/``ApiId``; a child whose API is unknown is dropped."""
        if isinstance(value, str) and self.known(value):
            return self.builder.apis.get((self.region, value))
        return None

    def _apis(self) -> None:
        b = self.builder
        for logical, props in self.of_type("AWS::ApiGateway::RestApi"):
            types = (props.get("EndpointConfiguration") or {}).get("Types") or []
            endpoint = str(types[0]) if isinstance(types, list) and types else "EDGE"
            parts = ApiParts(logical.lower(), self._name(props, logical), self.region, ApiProtocol.REST,
                             EndpointType(endpoint) if endpoint in EndpointType.__members__ else EndpointType.EDGE,
                             disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint") in (True, "true"))
            self._body(parts, logical, props, http=False)
            if self.exists(logical) is None:
                parts.unresolved.append(f"its condition {self.resources[logical].get('Condition')} is not known")
            b.apis[(self.region, parts.id)] = parts
        for logical, props in self.of_type("AWS::ApiGatewayV2::Api"):
            websocket = props.get("ProtocolType") == "WEBSOCKET"
            parts = ApiParts(logical.lower(), self._name(props, logical), self.region,
                             ApiProtocol.WEBSOCKET if websocket else ApiProtocol.HTTP, EndpointType.REGIONAL,
                             disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint") in (True, "true"),
                             cors=bool(props.get("CorsConfiguration")))
            self._body(parts, logical, props, http=True)
            if "Target" in props and not websocket:  # quick create: a $default route and an auto-deployed stage
                route_key = props.get("RouteKey", "$default")
                parts.stages.add("$default")
                self._route(parts, route_key, {})
            b.apis[(self.region, parts.id)] = parts
        for logical, props in self.of_type("AWS::ApiGateway::Authorizer"):
            parts = self._api_of(props.get("RestApiId"))
            if parts is not None:
                sources = str(props.get("IdentitySource", ""))
                parts.authorizers[f"authorizer:{logical}"] = Authorizer(
                    f"authorizer:{logical}", str(props.get("Name", logical)), str(props.get("Type", "TOKEN")),
                    tuple(s.strip() for s in sources.split(",") if s.strip()))
        for logical, props in self.of_type("AWS::ApiGatewayV2::Authorizer"):
            parts = self._api_of(props.get("ApiId"))
            if parts is not None:
                sources = props.get("IdentitySource") or []
                parts.authorizers[f"authorizer:{logical}"] = Authorizer(
                    f"authorizer:{logical}", str(props.get("Name", logical)), str(props.get("AuthorizerType", "")),
                    tuple(str(s) for s in (sources if isinstance(sources, list) else [sources])))
        self._rest_resources()
        for logical, props in self.of_type("AWS::ApiGatewayV2::Route"):
            parts = self._api_of(props.get("ApiId"))
            if parts is None:
                continue
            if not self.known(props.get("RouteKey")) or self.exists(logical) is None:
                parts.unresolved.append(f"route {logical} is not known ({self._why(props.get('RouteKey'))})")
                continue
            self._route(parts, str(props["RouteKey"]), props)
        for logical, props in self.of_type("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage",
                                           "AWS::ApiGateway::Deployment"):
            parts = self._api_of(props.get("RestApiId", props.get("ApiId")))
            name = props.get("StageName")
            if parts is None or name is None:
                continue
            if not self.known(name) or self.exists(logical) is None:
                parts.unresolved.append(f"stage {logical} has a name or condition that is not known "
                                        f"({self._why(name)})")
                continue
            parts.stages.add(str(name))

    def _name(self, props: Mapping[str, Any], logical: str) -> str:
        name = props.get("Name")
        return f"{logical} ({name})" if isinstance(name, str) and self.known(name) and name != logical else logical

    def _why(self, value: Any) -> str:
        return ", ".join(self.resolver.unknowns_in(value)) or "a condition that is not known"

    def _body(self, parts: ApiParts, logical: str, props: Mapping[str, Any], *, http: bool) -> None:
        if "BodyS3Location" in props or "DefinitionUri" in props:
            parts.unresolved.append(f"its OpenAPI definition is in S3 ({logical}.BodyS3Location), not in the "
                                    "template")
            return
        body = props.get("Body")
        if body is None:
            return
        if not isinstance(body, Mapping):
            parts.unresolved.append(f"its OpenAPI body is not known ({self._why(body)})")
            return
        mode = str((props.get("Parameters") or {}).get("basepath", "ignore")).lower()
        if mode in ("prepend", "split"):
            parts.unresolved.append(f"its OpenAPI body is imported with basepath={mode}, which edgemedic does not "
                                    "model")
            return
        if self.resolver.unknowns_in(_openapi_shape(body)):
            parts.unresolved.append(f"its OpenAPI body has parts that are not known "
                                    f"({self._why(_openapi_shape(body))})")
            return
        parts.add_openapi(parse_openapi(body, http=http))

    def _route(self, parts: ApiParts, route_key: str, props: Mapping[str, Any]) -> None:
        authorizer = props.get("AuthorizerId")
        parts.add_route(route_key, authorization_type=str(props.get("AuthorizationType", "NONE")),
                        authorizer_id=str(authorizer) if authorizer else None,
                        api_key_required=props.get("ApiKeyRequired") in (True, "true"))

    def _rest_resources(self) -> None:
        paths: dict[str, str | None] = {}  # "resource:Logical" -> path, None when unknown

        def path_of(resource_id: Any, seen: frozenset[str] = frozenset()) -> str | None:
            if not isinstance(resource_id, str):
                return None
            if resource_id.startswith("root:"):
                return "/"
            if resource_id in paths:
                return paths[resource_id]
            logical = resource_id.split(":", 1)[-1]
            if not resource_id.startswith("resource:") or logical in seen or logical not in self.resources:
                return None
            props = self.props(logical)
            parent = path_of(props.get("ParentId"), seen | {logical})
            part = props.get("PathPart")
            found = None if parent is None or not isinstance(part, str) or not self.known(part) \
                or self.exists(logical) is not True else f"{parent.rstrip('/')}/{part}"
            paths[resource_id] = found
            return found

        for logical, props in self.of_type("AWS::ApiGateway::Resource"):
            parts = self._api_of(props.get("RestApiId"))
            if parts is None:
                continue
            path = path_of(f"resource:{logical}")
            if path is None:
                parts.unresolved.append(f"the path of resource {logical} is not known")
            else:
                parts.resources.setdefault(path, [])
        for logical, props in self.of_type("AWS::ApiGateway::Method"):
            parts = self._api_of(props.get("RestApiId"))
            if parts is None:
                continue
            path = path_of(props.get("ResourceId"))
            verb = props.get("HttpMethod")
            if path is None or not isinstance(verb, str) or not self.known(verb) or self.exists(logical) is None:
                parts.unresolved.append(f"method {logical} is not fully known")
                continue
            authorizer = props.get("AuthorizerId")
            query = tuple(sorted(name[len(_QUERY_PREFIX):] for name in (props.get("RequestParameters") or {})
                                 if str(name).startswith(_QUERY_PREFIX)))
            parts.resources.setdefault(path, []).append(ApiMethod(
                verb.upper(), str(props.get("AuthorizationType", "NONE")),
                str(authorizer) if authorizer else None, props.get("ApiKeyRequired") in (True, "true"), query))

    # ----------------------------------------------------------------------------------------- custom domains

    def _custom_domains(self) -> None:
        b = self.builder
        found: dict[str, tuple[str, CustomDomain]] = {}  # logical -> (lower name, domain)
        for logical, props in self.of_type("AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName"):
            name = props.get("DomainName")
            if not isinstance(name, str) or not self.known(name):
                b.warn(f"custom domain {logical}: its name is not known ({self._why(name)}); origins and aliases "
                       "naming it are not recognised")
                continue
            low = logical.lower()
            if self.type_of(logical) == "AWS::ApiGatewayV2::DomainName":
                configuration = (props.get("DomainNameConfigurations") or [{}])[0]
                endpoint = str(configuration.get("EndpointType", "REGIONAL"))
                certificate = configuration.get("CertificateArn")
                policy = configuration.get("SecurityPolicy")
            else:
                types = (props.get("EndpointConfiguration") or {}).get("Types") or ["EDGE"]
                endpoint = str(types[0])
                certificate = props.get("RegionalCertificateArn") or props.get("CertificateArn")
                policy = props.get("SecurityPolicy")
            endpoint_type = EndpointType(endpoint) if endpoint in EndpointType.__members__ else EndpointType.EDGE
            found[logical] = (name.lower(), CustomDomain(
                name, self.region, endpoint_type,
                regional_domain_name=f"d-{low}.execute-api.{self.region}.{self.suffix}"
                if endpoint_type is EndpointType.REGIONAL else None,
                distribution_domain_name=f"{low}.cloudfront.net" if endpoint_type is EndpointType.EDGE else None,
                certificate_arn=certificate if isinstance(certificate, str) else None,
                security_policy=policy if isinstance(policy, str) else None))
        by_name = {name: logical for logical, (name, _) in found.items()}
        mappings: dict[str, list[ApiMapping]] = {logical: [] for logical in found}
        incomplete: set[str] = set()
        for logical, props in self.of_type("AWS::ApiGateway::BasePathMapping", "AWS::ApiGatewayV2::ApiMapping"):
            domain = props.get("DomainName")
            owner = by_name.get(str(domain).lower()) if isinstance(domain, str) else None
            if owner is None:
                continue
            api = props.get("RestApiId", props.get("ApiId"))
            base = props.get("BasePath", props.get("ApiMappingKey", ""))
            stage = props.get("Stage")
            if not self.known([api, base, stage]) or self.exists(logical) is None:
                incomplete.add(owner)
                b.warn(f"custom domain mapping {logical} is not known ({self._why([api, base, stage])})")
                continue
            base = "" if base in (None, "(none)") else str(base).strip("/")
            mappings[owner].append(ApiMapping(base, str(api), None if stage in (None, "", "(none)") else str(stage)))
        for logical, (name, domain) in found.items():
            if logical in incomplete:
                b.unreadable[custom_domain_key(name)] = Unreadable(f"custom domain {domain.name}",
                                                                  "a mapping on it is not known")
                continue
            b.custom_domains[name] = CustomDomain(
                domain.name, domain.region, domain.endpoint_type, domain.regional_domain_name,
                domain.distribution_domain_name, domain.certificate_arn, domain.security_policy,
                tuple(sorted(mappings[logical], key=lambda m: m.base_path)))

    # ----------------------------------------------------------------------------------------- load balancers

    def _load_balancers(self) -> None:
        b = self.builder
        certificates: dict[str, Certificate] = {}
        for logical, props in self.of_type("AWS::CertificateManager::Certificate"):
            names = [props.get("DomainName"), *(props.get("SubjectAlternativeNames") or [])]
            if not self.known(names):
                continue
            arn = str(self.reference(logical, None))
            # CloudFormation finishes creating the certificate only once ACM has issued it.
            certificates[arn] = Certificate(arn, tuple(dict.fromkeys(str(n).lower() for n in names if n)), "ISSUED")
        listener_certs: dict[str, list[str]] = {}
        for logical, props in self.of_type("AWS::ElasticLoadBalancingV2::ListenerCertificate"):
            listener_certs.setdefault(str(props.get("ListenerArn")), []).extend(
                str(c.get("CertificateArn")) for c in props.get("Certificates") or [] if isinstance(c, Mapping))
        aliases = self._record_aliases()
        for logical, props in self.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
            dns = str(self.reference(logical, "DNSName")).lower()
            lb_arn = self.reference(logical, None)
            arns: list[str] = []
            for listener, listener_props in self.of_type("AWS::ElasticLoadBalancingV2::Listener"):
                if listener_props.get("LoadBalancerArn") != lb_arn or listener_props.get("Protocol") not in (
                        "HTTPS", "TLS"):
                    continue
                arns += [str(c.get("CertificateArn")) for c in listener_props.get("Certificates") or []
                         if isinstance(c, Mapping)]
                arns += listener_certs.get(str(self.reference(listener, None)), [])
            for arn in arns:
                if arn in certificates:
                    b.certificates[arn] = certificates[arn]
                else:
                    from ..model import certificate_key

                    b.unreadable[certificate_key(arn)] = Unreadable(
                        f"certificate {self.resolver.readable(arn)}", "not defined in this template")
            b.load_balancers[dns] = LoadBalancer(
                str(lb_arn), dns, str(props.get("Scheme", "internet-facing")),
                tuple(dict.fromkeys(self.resolver.readable(a) if not self.known(a) else a for a in arns)),
                tuple(sorted(aliases.get(dns, ()))))

    def _record_aliases(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        records: list[Mapping] = []
        for _, props in self.of_type("AWS::Route53::RecordSet"):
            records.append(props)
        for _, props in self.of_type("AWS::Route53::RecordSetGroup"):
            records.extend(r for r in props.get("RecordSets") or [] if isinstance(r, Mapping))
        for record in records:
            name = record.get("Name")
            if not isinstance(name, str) or not self.known(name):
                continue
            targets = [(record.get("AliasTarget") or {}).get("DNSName")]
            if record.get("Type") == "CNAME":
                targets += list(record.get("ResourceRecords") or [])
            for target in targets:
                if isinstance(target, str) and self.known(target):
                    dns = target.lower().rstrip(".").removeprefix("dualstack.")
                    found.setdefault(dns, set()).add(name.rstrip(".").lower())
        return found

    # ----------------------------------------------------------------------------------------- distributions

    def _distribution(self, logical: str) -> None:
        b = self.builder
        if self.exists(logical) is None:
            b.warn(f"distribution {logical} is not scanned: its condition "
                   f"{self.resources[logical].get('Condition')} depends on values that are not known")
            b.lines.pop(logical, None)
            return
        config = self.props(logical).get("DistributionConfig")
        converted = _api_config(config, self, logical) if isinstance(config, Mapping) else None
        if converted is None:
            b.lines.pop(logical, None)
            return
        low = logical.lower()
        b.configs.append(({"Id": logical, "ARN": f"arn:aws:cloudfront::template:distribution/{logical}",
                           "DomainName": f"{low}.cloudfront.net", "Status": "Template"}, converted))


def _openapi_shape(body: Mapping[str, Any]) -> Any:
    """The parts of an OpenAPI body that the model reads: paths, methods, security, the authorizers' type and
    identity source (not their issuer or function, which are often references)."""
    paths = body.get("paths")
    if not isinstance(paths, Mapping):
        return paths
    schemes = body.get("securityDefinitions", (body.get("components") or {}).get("securitySchemes")) or {}
    return {
        "paths": {path: ({verb: (op.get("security"), op.get("x-amazon-apigateway-auth"),
                                 [p.get("in") for p in op.get("parameters") or []
                                  if isinstance(p, Mapping)]) if isinstance(op, Mapping) else op
                          for verb, op in ops.items()} if isinstance(ops, Mapping) else ops)
                  for path, ops in paths.items()},
        "security": body.get("security"),
        "schemes": {name: [scheme.get(k) for k in ("type", "in", "name", "x-amazon-apigateway-authtype")]
                    + [(scheme.get("x-amazon-apigateway-authorizer") or {}).get(k) for k in ("type",
                                                                                            "identitySource")]
                    if isinstance(scheme, Mapping) else scheme for name, scheme in schemes.items()}
        if isinstance(schemes, Mapping) else schemes,
    }


# --------------------------------------------------------------------------------------------- CFN -> API shape

_BEHAVIOR_FIELDS = ("PathPattern", "TargetOriginId", "ViewerProtocolPolicy", "AllowedMethods", "CachedMethods",
                    "ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")
_ASSOCIATIONS = ("FunctionAssociations", "LambdaFunctionAssociations")


def _api_config(config: Mapping[str, Any], loader: _Loader, logical: str) -> dict | None:
    """The DistributionConfig in GetDistributionConfig's shape, or None (with a warning) when the parts the rules
    read are not known."""
    b, resolver = loader.builder, loader.resolver
    behaviors = config.get("CacheBehaviors") or []
    default = config.get("DefaultCacheBehavior")
    origins = config.get("Origins")
    skeleton = {"behaviors": behaviors, "default": default, "origins": origins}
    if not isinstance(behaviors, list) or not isinstance(default, Mapping) or not isinstance(origins, list) or \
            not all(isinstance(x, Mapping) for x in [*behaviors, *origins]):
        b.warn(f"distribution {logical} is not scanned: its behaviors or origins are not known "
               f"({loader._why(skeleton)})")
        return None
    read = [{k: v for k, v in x.items() if k in _BEHAVIOR_FIELDS} for x in [*behaviors, default]]
    # Of an association only its event type is read (the function's ARN is not known before deploying).
    read += [[a.get("EventType") if isinstance(a, Mapping) else a for a in x.get(key) or []]
             for x in [*behaviors, default] for key in _ASSOCIATIONS]
    # Of an origin, its domain and path are resolved apart (an unknown one silences only the rules that need it);
    # everything else the rules read must be known.
    read += [{"Id": o.get("Id"), "S3": "S3OriginConfig" in o,
              "Headers": [h.get("HeaderName") if isinstance(h, Mapping) else h  # values are never read
                          for h in o.get("OriginCustomHeaders") or []],
              "Custom": {k: v for k, v in (o.get("CustomOriginConfig") or {}).items()
                         if k in ("OriginProtocolPolicy", "OriginSSLProtocols", "HTTPPort", "HTTPSPort")}}
             for o in origins]
    if resolver.unknowns_in(read):
        b.warn(f"distribution {logical} is not scanned: settings the rules read are not known "
               f"({loader._why(read)})")
        return None
    for origin in origins:
        # Through a custom domain, an unknown OriginPath also hides the Host intent (which alias maps where):
        # nothing about this distribution's API behaviors could be said without guessing.
        domain, path = str(origin.get("DomainName", "")), str(origin.get("OriginPath", "") or "")
        if loader.known(domain) and not loader.known(path) and \
                classify_origin(domain, b.custom_domains)[1] is not None and \
                classify_origin(domain, b.custom_domains)[1].via == "custom-domain":
            b.warn(f"distribution {logical} is not scanned: the OriginPath of origin {origin.get('Id')}, an API "
                   f"Gateway custom domain, is not known ({loader._why(path)})")
            return None
    api: dict[str, Any] = {
        "Enabled": config.get("Enabled") not in (False, "false"),
        "Aliases": items(_aliases(config.get("Aliases") or [], loader, logical)),
        "Origins": items(_origin(o, loader, logical) for o in origins),
        "DefaultCacheBehavior": _behavior(default, loader, logical),
        "CacheBehaviors": items(_behavior(x, loader, logical) for x in behaviors),
    }
    groups = config.get("OriginGroups")
    if isinstance(groups, Mapping):
        api["OriginGroups"] = groups
    errors = config.get("CustomErrorResponses")
    if isinstance(errors, list) and errors:
        if loader.known(errors):  # custom-error-masks-api reads them; unknown ones silence only that rule
            api["CustomErrorResponses"] = items(
                {"ErrorCode": int(e.get("ErrorCode", 0)), "ResponsePagePath": str(e.get("ResponsePagePath") or ""),
                 "ResponseCode": str(e.get("ResponseCode") or "")} for e in errors if isinstance(e, Mapping))
        else:
            b.warn(f"distribution {logical}: its custom error responses are not known ({loader._why(errors)}); "
                   "custom-error-masks-api stays silent")
    return api


def _aliases(aliases: Any, loader: _Loader, logical: str) -> list[str]:
    b, resolver = loader.builder, loader.resolver
    if not isinstance(aliases, list):
        aliases = [aliases]
    found = []
    for alias in aliases:
        alias = str(alias)
        if not loader.known(alias):
            why = ", ".join(resolver.unknowns_in(alias))
            alias = resolver.placeholder(alias, "unresolved-alias")
            b.unreadable[custom_domain_key(alias)] = Unreadable(f"alias {alias} of {logical}", f"not known: {why}")
            b.warn(f"distribution {logical}: an alias is not known ({why})")
        elif alias.lower() not in b.custom_domains:
            # Whether an alias is an API Gateway custom domain decides Host intent; one defined outside this
            # template cannot be seen.
            b.unreadable.setdefault(custom_domain_key(alias), Unreadable(
                f"whether {alias} is an API Gateway custom domain",
                "not defined in this template; one defined elsewhere cannot be seen by a template scan"))
        found.append(alias)
    return found


def _origin(raw: Mapping[str, Any], loader: _Loader, logical: str) -> dict[str, Any]:
    b, resolver = loader.builder, loader.resolver
    origin_id = str(raw.get("Id"))
    domain = str(raw.get("DomainName", ""))
    path = str(raw.get("OriginPath", "") or "")
    s3 = "S3OriginConfig" in raw
    if not loader.known(domain):
        why = ", ".join(resolver.unknowns_in(domain))
        domain = resolver.placeholder(domain).lower()
        kind, target = classify_origin(domain, b.custom_domains, s3_origin_config=s3)
        b.warn(f"distribution {logical}: the domain of origin {origin_id} is not known ({why})"
               + ("" if kind is OriginKind.API_GATEWAY else "; the rules that need to know what it is stay silent"))
        _mark_unknown_target(b, domain, target, f"origin {origin_id} domain not known: {why}")
    if not loader.known(path):
        why = ", ".join(resolver.unknowns_in(path))
        b.warn(f"distribution {logical}: the OriginPath of origin {origin_id} is not known ({why}); the rules that "
               "route requests through it stay silent")
        domain = _opaque_api_domain(b, domain, loader, f"origin {origin_id} OriginPath not known: {why}")
        path = resolver.placeholder(path)
    elif loader.known(domain):
        kind, target = classify_origin(domain, b.custom_domains, s3_origin_config=s3)
        _mark_unknown_target(b, domain, target, _OUTSIDE, origin_id)
        name = domain.lower().rstrip(".").removeprefix("dualstack.")
        if kind is OriginKind.LOAD_BALANCER and name not in b.load_balancers:
            b.unreadable.setdefault(load_balancer_key(name), Unreadable(f"load balancer {name}",
                                                                        "defined outside this template"))
    api: dict[str, Any] = {"Id": origin_id, "DomainName": domain, "OriginPath": path,
                           "CustomHeaders": items({"HeaderName": str(h.get("HeaderName"))}
                                                  for h in raw.get("OriginCustomHeaders") or []
                                                  if isinstance(h, Mapping))}
    custom = raw.get("CustomOriginConfig")
    if isinstance(custom, Mapping):
        protocols = custom.get("OriginSSLProtocols")
        if protocols is None:
            # CloudFormation's documentation gives no default for OriginSSLProtocols; nothing is claimed about it.
            b.warn(f"distribution {logical}: origin {origin_id} has no OriginSSLProtocols and CloudFormation "
                   "documents no default; its TLS versions are taken as including TLSv1.2 (not checked)")
            protocols = ["TLSv1.2"]
        api["CustomOriginConfig"] = {
            "HTTPPort": int(custom.get("HTTPPort", 80)), "HTTPSPort": int(custom.get("HTTPSPort", 443)),
            "OriginProtocolPolicy": str(custom.get("OriginProtocolPolicy", "")),
            "OriginSslProtocols": items(str(p) for p in (protocols if isinstance(protocols, list) else [protocols])),
        }
        for key in ("OriginReadTimeout", "OriginKeepaliveTimeout"):
            if key in custom and loader.known(custom[key]):
                api["CustomOriginConfig"][key] = int(custom[key])
    elif s3 or "S3OriginConfig" in raw:
        api["S3OriginConfig"] = {"OriginAccessIdentity": ""}
    return api


def _mark_unknown_target(b: ModelBuilder, domain: str, target: Any, reason: str, origin_id: str = "") -> None:
    """An API origin whose API or custom domain is not in the template: unreadable, as for the live scan, and
    named in a warning (the rules that need it are silent for the behaviors in front of it)."""
    if target is None:
        return
    if target.via == "execute-api" and target.api_id and (target.region, target.api_id) not in b.apis:
        b.unreadable.setdefault(api_key(target.region, target.api_id),
                                Unreadable(f"API {target.api_id}", reason))
        if reason == _OUTSIDE:
            b.warn(f"API {target.api_id} ({target.region}) behind origin {origin_id or domain} is defined outside "
                   "this template; the rules that need its routes stay silent for the behaviors in front of it")
    elif target.via == "custom-domain" and not target.domain_name:
        b.unreadable.setdefault(custom_domain_key(domain), Unreadable(f"custom domain behind {domain}", reason))


def _opaque_api_domain(b: ModelBuilder, domain: str, loader: _Loader, reason: str) -> str:
    """For an API origin whose OriginPath is not known: a stand-in domain whose API is unreadable, so the rules
    that route through the path stay silent while those that need only "this is an API origin" still speak."""
    found = execute_api_id(domain)
    kind, target = classify_origin(domain, b.custom_domains)
    if kind is not OriginKind.API_GATEWAY:
        return domain
    stand_in = f"pathunknown{len(b.unreadable)}"
    region = found[1] if found else (target.region if target else loader.region)
    b.unreadable[api_key(region, stand_in)] = Unreadable(f"API behind {domain}", reason)
    return f"{stand_in}.execute-api.{region}.{loader.suffix}"


def _behavior(raw: Mapping[str, Any], loader: _Loader, logical: str) -> dict[str, Any]:
    b, resolver = loader.builder, loader.resolver
    allowed = raw.get("AllowedMethods") or ["GET", "HEAD"]
    cached = raw.get("CachedMethods") or ["GET", "HEAD"]
    api: dict[str, Any] = {
        "TargetOriginId": str(raw.get("TargetOriginId")),
        "ViewerProtocolPolicy": str(raw.get("ViewerProtocolPolicy", "allow-all")),
        "AllowedMethods": {**items(str(m) for m in allowed), "CachedMethods": items(str(m) for m in cached)},
    }
    if "PathPattern" in raw:
        api["PathPattern"] = str(raw["PathPattern"])
    for key, store, what in (("CachePolicyId", b.cache_policies, "cache policy"),
                             ("OriginRequestPolicyId", b.origin_request_policies, "origin request policy"),
                             ("ResponseHeadersPolicyId", None, "")):
        value = raw.get(key)
        if value is None:
            continue
        value = str(value)
        if not loader.known(value):
            why = ", ".join(resolver.unknowns_in(value))
            value = resolver.placeholder(value, "unresolved-policy-")
            if store is not None:
                store[value] = Unreadable(f"the {what} of behavior {raw.get('PathPattern', '*')}",
                                          f"not known: {why}")
        api[key] = value
    forwarded = raw.get("ForwardedValues")
    if "CachePolicyId" not in api:
        forwarded = forwarded if isinstance(forwarded, Mapping) else {}
        cookies = forwarded.get("Cookies") or {}
        api["ForwardedValues"] = {
            "QueryString": forwarded.get("QueryString") in (True, "true"),
            "Cookies": {"Forward": str(cookies.get("Forward", "none"))},
            "Headers": items(str(h) for h in forwarded.get("Headers") or []),
            "QueryStringCacheKeys": items(str(q) for q in forwarded.get("QueryStringCacheKeys") or []),
        }
        for ttl in ("MinTTL", "DefaultTTL", "MaxTTL"):
            if ttl in raw:
                api[ttl] = int(raw[ttl])
    api["FunctionAssociations"] = items({"EventType": str(a.get("EventType"))}
                                        for a in raw.get("FunctionAssociations") or [] if isinstance(a, Mapping))
    api["LambdaFunctionAssociations"] = items({"EventType": str(a.get("EventType"))}
                                              for a in raw.get("LambdaFunctionAssociations") or []
                                              if isinstance(a, Mapping))
    return api


def load_templates(paths: list[Path], *, parameters: Mapping[str, str] | None = None,
                   relative_to: Path | None = None) -> list[SourceScan]:
    """Every template named: files, and the stacks of CDK cloud assembly directories."""
    scans = []
    for path in paths:
        for file, region in template_files(path):
            display = display_name(file, relative_to)
            try:
                scans.append(load_template(file, parameters=parameters, display=display, region=region))
            except TemplateError as exc:
                message = str(exc)
                raise TemplateError(message if message.startswith(str(file)) else f"{display}: {message}") from exc
    return scans
