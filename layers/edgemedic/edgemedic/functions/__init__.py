"""The Lambda functions' entry points, one module per function of template.yaml (evaluate, apply, approve, sweep).

They live in the package, so the layer ships them and ``edgemedic demo`` runs them from an installed package;
``functions/<name>/app.py`` (each function's CodeUri) only re-exports ``lambda_handler`` and ``IAM_ACTIONS``.
Importing one sets up its Powertools Logger, Tracer and Metrics, as Lambda's import of the handler does.
"""
NAMES = ("evaluate", "apply", "approve", "sweep")
