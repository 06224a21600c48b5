"""apply: the only function allowed to call cloudfront:UpdateDistribution.

The code is edgemedic.functions.apply (in the layer), so that `edgemedic demo` runs the same handler from an
installed package; template.yaml's Handler is app.lambda_handler.
"""
from edgemedic.functions.apply import IAM_ACTIONS, lambda_handler

__all__ = ["IAM_ACTIONS", "lambda_handler"]
