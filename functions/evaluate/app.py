"""evaluate: a CloudTrail change (EventBridge) -> the distributions it touches -> findings -> act.

The code is edgemedic.functions.evaluate (in the layer), so that `edgemedic demo` runs the same handler from an
installed package; template.yaml's Handler is app.lambda_handler.
"""
from edgemedic.functions.evaluate import IAM_ACTIONS, lambda_handler

__all__ = ["IAM_ACTIONS", "lambda_handler"]
