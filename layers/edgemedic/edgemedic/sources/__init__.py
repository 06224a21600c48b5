"""Where a model comes from besides a live account: templates and plans, read without calling AWS.

    from edgemedic.sources.template import load_templates      # CloudFormation, SAM, CDK cloud assemblies
    from edgemedic.sources.terraform import load_plan          # `terraform show -json PLANFILE`
    from edgemedic.sources.scan import scan_sources            # either, evaluated, with file and line per finding

Each loader fills the same :class:`edgemedic.model.Inventory` as ``edgemedic.collect``; nothing is imported here so
that the live CLI does not pay for the template decoders.
"""
