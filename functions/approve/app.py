"""approve: Slack's interactivity endpoint (a Lambda Function URL; the Slack signature is the authentication).

The code is edgemedic.functions.approve (in the layer), so that `edgemedic demo` runs the same handler from an
installed package; template.yaml's Handler is app.lambda_handler.
"""
from edgemedic.functions.approve import IAM_ACTIONS, lambda_handler

__all__ = ["IAM_ACTIONS", "lambda_handler"]
