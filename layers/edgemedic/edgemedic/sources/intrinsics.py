"""CloudFormation intrinsic functions, resolved symbolically. Pure; no AWS call.

    resolver = Resolver(template, parameters={"Stage": "prod"}, region="eu-west-1", reference=synthesize)
    resolver.value({"Fn::Sub": "${Api}.execute-api.${AWS::Region}.amazonaws.com"})
    # -> "myapi.execute-api.eu-west-1.amazonaws.com" when ``reference("Api", None)`` answers "myapi"

What a template names but cannot know before deployment (an import, a parameter without a value, an attribute
edgemedic does not model) becomes an *unknown*: a marker inside the string that survives ``Fn::Join``,
``Fn::Split`` and ``Fn::Select``, and that :meth:`Resolver.unknowns_in` turns back into what was unresolved. A value
with an unknown in it is never guessed from; the loaders make the rules that need it silent and say why.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

MARK = "\x00"
_TOKEN = re.compile(r"\x00(\d+)\x00")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
NO_VALUE = object()  # AWS::NoValue: the property is removed

# reference(logical id, attribute or None for Ref) -> the value it will have, or None when it cannot be known.
Reference = Callable[[str, "str | None"], "str | None"]


def partition_of(region: str) -> tuple[str, str]:
    """(AWS::Partition, AWS::URLSuffix) of a region."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


class Resolver:
    def __init__(self, template: Mapping[str, Any], *, parameters: Mapping[str, str], region: str,
                 reference: Reference):
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.parameter_definitions: Mapping[str, Any] = template.get("Parameters") or {}
        self.condition_definitions: Mapping[str, Any] = template.get("Conditions") or {}
        self.mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self.parameters = dict(parameters)
        self.region = region
        self.reference = reference
        self._unknowns: list[str] = []
        self._unknown_ids: dict[str, int] = {}
        self._conditions: dict[str, bool | None] = {}
        partition, suffix = partition_of(region)
        self.pseudo = {"AWS::Region": region, "AWS::Partition": partition, "AWS::URLSuffix": suffix}

    # ----------------------------------------------------------------------------------------- unknowns

    def unknown(self, what: str) -> str:
        """A marker standing for a value that cannot be known; ``what`` says what it is."""
        if what not in self._unknown_ids:
            self._unknown_ids[what] = len(self._unknowns)
            self._unknowns.append(what)
        return f"{MARK}{self._unknown_ids[what]}{MARK}"

    def unknowns_in(self, value: Any) -> list[str]:
        """What is unresolved anywhere in ``value`` (in order, without repeats)."""
        found: list[str] = []
        if isinstance(value, str):
            found = [self._unknowns[int(n)] for n in _TOKEN.findall(value)]
        elif isinstance(value, Mapping):
            for key, item in value.items():
                found += self.unknowns_in(key) + self.unknowns_in(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                found += self.unknowns_in(item)
        return list(dict.fromkeys(found))

    def readable(self, value: str) -> str:
        """``value`` with each unknown written as ``${what}`` (for messages)."""
        return _TOKEN.sub(lambda m: "${" + self._unknowns[int(m[1])] + "}", value)

    def placeholder(self, value: str, label: str = "unresolved") -> str:
        """``value`` with each unknown replaced by a DNS-safe label (``unresolved0``), to classify its shape."""
        return _TOKEN.sub(lambda m: f"{label}{m[1]}", value)

    # ----------------------------------------------------------------------------------------- conditions

    def condition(self, name: str) -> bool | None:
        """True/False, or None when it depends on something unknown."""
        if name not in self._conditions:
            self._conditions[name] = None  # a cycle stays unknown
            definition = self.condition_definitions.get(name)
            self._conditions[name] = None if definition is None else self._truth(definition)
        return self._conditions[name]

    def _truth(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return {"true": True, "false": False}.get(value.lower())
        if not isinstance(value, Mapping) or len(value) != 1:
            return None
        (name, args), = value.items()
        if name == "Condition":
            return self.condition(args)
        if name == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
            left, right = (self.value(a) for a in args)
            if self.unknowns_in([left, right]):
                return None
            return _plain(left) == _plain(right)
        if name == "Fn::Not" and isinstance(args, list) and len(args) == 1:
            inner = self._truth(args[0])
            return None if inner is None else not inner
        if name in ("Fn::And", "Fn::Or") and isinstance(args, list):
            results = [self._truth(a) for a in args]
            decisive = name == "Fn::Or"
            if decisive in results:
                return decisive
            return None if None in results else not decisive
        return None

    # ----------------------------------------------------------------------------------------- values

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic function resolved (unknowns as markers); AWS::NoValue removes a member."""
        if isinstance(node, Mapping):
            if len(node) == 1:
                (name, args), = node.items()
                if name == "Ref" or (isinstance(name, str) and name.startswith("Fn::")):
                    return self._function(str(name), args)
            resolved = {}
            for key, item in node.items():
                item = self.value(item)
                if item is not NO_VALUE:
                    resolved[str(key)] = item
            return resolved
        if isinstance(node, list):
            return [item for item in (self.value(i) for i in node) if item is not NO_VALUE]
        if isinstance(node, str):
            return str(node)  # plain str, not the decoder's node class
        return node

    def _function(self, name: str, args: Any) -> Any:
        handler = getattr(self, "_fn_" + name.replace("Fn::", "").replace("::", "_"), None)
        if name == "Ref":
            return self._ref(args)
        if handler is None:
            return self.unknown(f"{name} (not resolved by edgemedic)")
        return handler(args)

    def _ref(self, name: Any) -> Any:
        name = str(self.value(name))
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name.startswith("AWS::"):
            return self.unknown(name)
        if name in self.parameter_definitions:
            return self._parameter(name)
        if name in self.resources:
            found = self.reference(name, None)
            return found if found is not None else self.unknown(f"Ref {name}")
        return self.unknown(f"Ref {name} (not in the template)")

    def _parameter(self, name: str) -> Any:
        definition = self.parameter_definitions.get(name) or {}
        if name in self.parameters:
            raw: Any = self.parameters[name]
        elif "Default" in definition:
            raw = definition["Default"]
        else:
            return self.unknown(f"parameter {name} (no default; pass --parameter {name}=VALUE)")
        kind = str(definition.get("Type", "String"))
        if kind.startswith("AWS::SSM::Parameter::Value"):
            return self.unknown(f"parameter {name} (read from SSM at deploy time)")
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [part.strip() for part in str(raw).split(",")] if isinstance(raw, str) else list(raw)
        return str(raw)

    def _fn_GetAtt(self, args: Any) -> Any:
        if isinstance(args, str):
            logical, _, attribute = args.partition(".")
        elif isinstance(args, list) and len(args) == 2:
            logical, attribute = str(args[0]), str(self.value(args[1]))
        else:
            return self.unknown("Fn::GetAtt (malformed)")
        if logical not in self.resources:
            return self.unknown(f"Fn::GetAtt {logical}.{attribute} (not in the template)")
        found = self.reference(logical, attribute)
        return found if found is not None else self.unknown(f"Fn::GetAtt {logical}.{attribute}")

    def _fn_Sub(self, args: Any) -> Any:
        if isinstance(args, list) and len(args) == 2:
            text, variables = args[0], self.value(args[1])
        else:
            text, variables = args, {}
        text = self.value(text)
        if not isinstance(text, str):
            return self.unknown("Fn::Sub (malformed)")

        def replace(match: re.Match) -> str:
            name = match[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if isinstance(variables, Mapping) and name in variables:
                return _plain(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return _plain(self._fn_GetAtt(name))
            return _plain(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _fn_Join(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return self.unknown("Fn::Join (malformed)")
        separator, items = self.value(args[0]), self.value(args[1])
        if not isinstance(items, list):
            return self.unknown("Fn::Join of a list that is not known") if not isinstance(items, str) else items
        return _plain(separator).join(_plain(i) for i in items)

    def _fn_Split(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return self.unknown("Fn::Split (malformed)")
        separator, text = self.value(args[0]), self.value(args[1])
        if not isinstance(text, str):
            return self.unknown("Fn::Split (malformed)")
        return text.split(_plain(separator))

    def _fn_Select(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            return self.unknown("Fn::Select (malformed)")
        index, items = self.value(args[0]), self.value(args[1])
        if self.unknowns_in(index) or not isinstance(items, list):
            return self.unknown("Fn::Select from a list that is not known")
        try:
            return items[int(index)]
        except (ValueError, IndexError):
            return self.unknown(f"Fn::Select index {index} out of range")

    def _fn_If(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 3):
            return self.unknown("Fn::If (malformed)")
        truth = self.condition(str(args[0]))
        if truth is None:
            return self.unknown(f"condition {args[0]}")
        return self.value(args[1] if truth else args[2])

    def _fn_FindInMap(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) >= 3):
            return self.unknown("Fn::FindInMap (malformed)")
        keys = [self.value(a) for a in args[:3]]
        if self.unknowns_in(keys):
            return self.unknown(f"Fn::FindInMap {keys[0]} with a key that is not known")
        try:
            return self.value(self.mappings[keys[0]][keys[1]][keys[2]])
        except (KeyError, TypeError):
            if len(args) == 4 and isinstance(args[3], Mapping) and "DefaultValue" in args[3]:
                return self.value(args[3]["DefaultValue"])
            return self.unknown(f"Fn::FindInMap {'/'.join(map(str, keys))} (no such entry)")

    def _fn_ImportValue(self, args: Any) -> Any:
        name = self.value(args)
        return self.unknown(f"Fn::ImportValue {self.readable(name) if isinstance(name, str) else name}")

    def _fn_Base64(self, args: Any) -> Any:
        return self.unknown("Fn::Base64")


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_plain(v) for v in value)
    return str(value)
