"""sweep: the scheduled full scan. Catches what an event missed and refreshes the API -> distribution index.

The code is edgemedic.functions.sweep (in the layer), so that `edgemedic demo` runs the same handler from an
installed package; template.yaml's Handler is app.lambda_handler.
"""
from edgemedic.functions.sweep import IAM_ACTIONS, lambda_handler

__all__ = ["IAM_ACTIONS", "lambda_handler"]
