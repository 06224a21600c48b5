"""The IAM actions behind the boto3 calls edgemedic's functions make (Cloud Custodian style: code declares, a test
compares with the template). ``action_for`` maps a recorded call to its action so tests can check that every
call a handler made on moto is covered by what its function declares.
"""
from __future__ import annotations

import re

# What the collector reads (edgemedic.collect): CloudFront, the APIs behind origins, custom domains, load
# balancers, certificates, Route 53 aliases, the function behind a Lambda function URL origin (collect.lambdas). API
# Gateway authorizes every read of v1 and v2 as apigateway:GET.
READ_ACTIONS = (
    "cloudfront:ListDistributions",
    "cloudfront:GetDistribution",
    "cloudfront:GetDistributionConfig",
    "cloudfront:GetCachePolicy",
    "cloudfront:GetOriginRequestPolicy",
    "cloudfront:ListDistributionTenants",
    "apigateway:GET",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerCertificates",
    "acm:DescribeCertificate",
    "lambda:ListFunctions",
    "lambda:ListFunctionUrlConfigs",
    "lambda:GetFunctionConfiguration",
    "route53:ListHostedZones",
    "route53:ListResourceRecordSets",
)
UPDATE_DISTRIBUTION = ("cloudfront:UpdateDistribution",)
# Organization hub: evaluate assumes the member's read role, apply its apply role (edgemedic.accounts.assume).
ASSUME_MEMBER_ROLE = ("sts:AssumeRole",)
# The sweep lists the organization's accounts (edgemedic.accounts.organization_accounts) unless given a list.
LIST_ACCOUNTS = ("organizations:ListAccounts",)

_PREFIX = {"apigatewayv2": "apigateway", "elbv2": "elasticloadbalancing"}
_VERSION = re.compile(r"\d{4}_\d{2}_\d{2}$")
_APIGW_VERB = (("Get", "GET"), ("List", "GET"), ("Create", "POST"), ("Put", "PUT"), ("Update", "PATCH"), ("Delete", "DELETE"))


def action_for(service: str, operation: str) -> str:
    """``("cloudfront", "GetDistributionConfig2020_05_31")`` -> ``"cloudfront:GetDistributionConfig"``."""
    operation = _VERSION.sub("", operation)
    if service in {"apigateway", "apigatewayv2"}:
        for prefix, verb in _APIGW_VERB:
            if operation.startswith(prefix):
                return f"apigateway:{verb}"
    return f"{_PREFIX.get(service, service)}:{operation}"


# The roles of templates/org-member.yaml in each member account (and what `edgemedic scan/fix --role-name` needs):
# the read role reads as the functions do, scoping tags included (edgemedic.act.scope); the apply role also updates
# distributions. With SecurityHubExport, both import the account's findings into its Security Hub
# (edgemedic.securityhub). The CLI names an account by its alias where the role may read it (accounts.alias).
SECURITY_HUB_ACTIONS = ("securityhub:BatchImportFindings",)
_TAGS = ("cloudfront:ListTagsForResource",)  # edgemedic.act.scope.TAG_ACTIONS (a test keeps them equal)
MEMBER_READ_ACTIONS = (*READ_ACTIONS, *_TAGS, "iam:ListAccountAliases", *SECURITY_HUB_ACTIONS)
MEMBER_APPLY_ACTIONS = (*READ_ACTIONS, *_TAGS, *UPDATE_DISTRIBUTION, *SECURITY_HUB_ACTIONS)
