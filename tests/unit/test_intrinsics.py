"""Symbolic resolution of CloudFormation intrinsic functions: known values come out as they will deploy, anything
that cannot be known stays a marker that says what it is."""
from __future__ import annotations

import pytest

from edgemedic.sources.intrinsics import NO_VALUE, Resolver

TEMPLATE = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "prod"},
        "Domain": {"Type": "String"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Env": {"Type": "String", "Default": "dev"},
    },
    "Mappings": {"Suffix": {"eu-west-1": {"Api": "api-eu"}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "HasDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Domain"}, ""]}]},
        "Either": {"Fn::Or": [{"Condition": "NotProd"}, {"Condition": "HasDomain"}]},
    },
    "Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi"}, "Other": {"Type": "AWS::SNS::Topic"}},
}


def resolver(**parameters: str) -> Resolver:
    return Resolver(TEMPLATE, parameters=parameters, region="eu-west-1",
                    reference=lambda logical, attribute: "abc123" if (logical, attribute) == ("Api", None) else None)


def test_sub_join_select_split_like_cdk_rest_api_origin() -> None:
    r = resolver()
    url = {"Fn::Join": ["", ["https://", {"Ref": "Api"}, ".execute-api.", {"Ref": "AWS::Region"}, ".",
                             {"Ref": "AWS::URLSuffix"}, "/", {"Ref": "Stage"}, "/"]]}
    assert r.value({"Fn::Select": [2, {"Fn::Split": ["/", url]}]}) == "abc123.execute-api.eu-west-1.amazonaws.com"
    assert r.value({"Fn::Join": ["", ["/", {"Fn::Select": [3, {"Fn::Split": ["/", url]}]}]]}) == "/prod"
    assert r.value({"Fn::Sub": "${Api}.${!Literal}.${AWS::Partition}"}) == "abc123.${Literal}.aws"
    assert r.value({"Fn::Sub": ["${X}-${Stage}", {"X": {"Ref": "Api"}}]}) == "abc123-prod"
    assert r.value({"Fn::FindInMap": ["Suffix", {"Ref": "AWS::Region"}, "Api"]}) == "api-eu"
    assert r.value({"Ref": "Zones"}) == ["a", "b"]


def test_unknowns_survive_string_functions_and_say_what_they_are() -> None:
    r = resolver()
    domain = r.value({"Fn::Sub": "${Domain}.example.com"})
    assert r.unknowns_in(domain) == ["parameter Domain (no default; pass --parameter Domain=VALUE)"]
    imported = r.value({"Fn::Select": [0, {"Fn::Split": [".", {"Fn::ImportValue": "shared-api"}]}]})
    assert r.unknowns_in(imported) == ["Fn::ImportValue shared-api"]
    assert r.readable(imported) == "${Fn::ImportValue shared-api}"
    assert r.placeholder(domain) == "unresolved0.example.com"
    assert r.unknowns_in(r.value({"Fn::GetAtt": ["Other", "TopicName"]})) == ["Fn::GetAtt Other.TopicName"]
    assert r.value({"Ref": "Domain"}) != "" and resolver(Domain="api.example.com").value(
        {"Ref": "Domain"}) == "api.example.com"


@pytest.mark.parametrize("parameters, expected", [
    ({}, {"IsProd": False, "NotProd": True, "HasDomain": None, "Either": True}),
    ({"Env": "prod"}, {"IsProd": True, "NotProd": False, "HasDomain": None, "Either": None}),
    ({"Env": "prod", "Domain": "x.example.com"}, {"IsProd": True, "NotProd": False, "HasDomain": True,
                                                  "Either": True}),
])
def test_conditions_are_decided_only_from_known_values(parameters: dict, expected: dict) -> None:
    r = resolver(**parameters)
    assert {name: r.condition(name) for name in expected} == expected


def test_if_and_no_value() -> None:
    r = resolver()
    assert r.value({"A": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}) == {"B": 1}
    assert r.value({"Fn::If": ["NotProd", [1, 2], []]}) == [1, 2]
    assert r.unknowns_in(r.value({"Fn::If": ["HasDomain", "a", "b"]})) == ["condition HasDomain"]
    assert r.value({"Ref": "AWS::NoValue"}) is NO_VALUE
