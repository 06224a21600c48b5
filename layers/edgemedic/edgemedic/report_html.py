"""``edgemedic scan --format html``: one self-contained page for people who would rather look than read.

Per distribution: a diagram (inline SVG) of its behaviors -> origins -> the APIs and stages behind them, the edges
of failing requests drawn red and linked to their findings; then each finding with its evidence, its fix, the diff
of that fix and its before/after trace. No script, no stylesheet, font or image from elsewhere: the file opens
offline, from a mail attachment or a CI artifact, and shows the same thing.

Pure rendering, like ``edgemedic.report``: the caller passes the diffs and traces it computed.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .findings import Finding, Severity
from .model import ALL_METHODS, Distribution, Inventory, Origin, OriginKind
from .report import SEVERITIES, FindingKey, behavior_label, counts_line

# --------------------------------------------------------------------------------------------- the diagram

NODE_W, NODE_H, ROW, GAP_X, PAD = 250, 40, 52, 90, 16
COLUMN_X = (PAD, PAD + NODE_W + GAP_X, PAD + 2 * (NODE_W + GAP_X))
SEVERITY_COLOR = {Severity.CRITICAL: "#8b0000", Severity.HIGH: "#c62828", Severity.MEDIUM: "#b26a00",
                  Severity.LOW: "#1565c0"}

# Nothing may load from anywhere at view time: no script at all, styles only from this file.
CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
       'img-src data:">')
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header,main{max-width:1100px;margin:0 auto;padding:0 20px}
header{padding-top:18px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 2px}
h3{font-size:15px;margin:0}
.meta,.sub{color:#5f6368}
section.dist{background:#fff;border:1px solid #dadce0;border-radius:8px;padding:14px 18px;margin:18px 0}
.clean{color:#1e7d32}
svg.diagram{display:block;max-width:100%;height:auto;margin:10px 0}
svg .node rect{fill:#fff;stroke:#80868b;stroke-width:1.2}
svg .node.bad rect{stroke:#c62828;stroke-width:2}
svg .node text{font:12px system-ui,sans-serif;fill:#1d1d1f}
svg .node text.kind{fill:#5f6368;font-size:11px}
svg .col{font:bold 12px system-ui,sans-serif;fill:#5f6368}
svg path.edge{fill:none;stroke:#9aa0a6;stroke-width:1.6}
svg path.edge.fail{stroke:#c62828;stroke-width:2.6;stroke-dasharray:7 4}
svg a:hover path.edge.fail{stroke-width:4}
article.finding{border-top:1px solid #e8eaed;padding:10px 0}
article.finding:target{background:#fff8e1}
.sev{display:inline-block;min-width:66px;text-align:center;color:#fff;border-radius:4px;font-size:12px;
font-weight:600;padding:1px 6px;margin-right:6px}
.rule{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600}
dl{display:grid;grid-template-columns:110px 1fr;gap:3px 12px;margin:8px 0}
dt{color:#5f6368}
dd{margin:0}
ul{margin:0;padding-left:18px}
pre{background:#f1f3f4;border-radius:6px;padding:8px 10px;overflow:auto;font-size:12px;margin:6px 0}
pre .add{color:#1b5e20;background:#e6f4ea;display:block}
pre .del{color:#b71c1c;background:#fce8e6;display:block}
pre .hunk{color:#5f6368;display:block}
pre .ctx{display:block}
.trace{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.warn{color:#8a5300}
"""


@dataclass
class _Node:
    key: str
    column: int
    title: str
    kind: str
    bad: list[Finding] = field(default_factory=list)
    row: int = 0

    @property
    def x(self) -> int:
        return COLUMN_X[self.column]

    @property
    def y(self) -> int:
        return PAD + 24 + self.row * ROW


@dataclass
class _Edge:
    start: _Node
    end: _Node
    findings: list[Finding] = field(default_factory=list)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _fit(text: str, limit: int = 34) -> str:
    """Shorten a label for its box; the whole text is in the node's <title> (a tooltip) and in the findings."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding_anchor(dist_id: str, index: int) -> str:
    return f"f-{dist_id}-{index}"


def _api_nodes(origin: Origin, inv: Inventory) -> list[tuple[str, str, str]]:
    """(key, title, kind) of what an API origin reaches: an API and its stage, or a custom domain's mappings."""
    target = origin.api
    if target is None:
        return []
    if target.via == "execute-api" and target.api_id:
        api = inv.api(target.region, target.api_id)
        first = origin.origin_path.strip("/").split("/")[0] if origin.origin_path else ""
        if api is None:
            return [(f"api:{target.region}:{target.api_id}", f"API {target.api_id}", f"{target.region}, not read")]
        stage = first if first in api.stages else None
        where = f"stage {stage}" if stage else ("stages " + ", ".join(api.stages) if api.stages else "no stages")
        return [(f"api:{api.region}:{api.id}:{stage or ''}", f"{api.protocol.value} API {api.name or api.id}",
                 f"{api.id} · {where}")]
    domain = inv.custom_domain(target.domain_name or origin.domain_name)
    if domain is None:
        return [(f"domain:{target.domain_name}", f"custom domain {target.domain_name}", "not found")]
    nodes = []
    for mapping in domain.mappings:
        api = inv.api(domain.region, mapping.api_id)
        name = f"{api.protocol.value} API {api.name or api.id}" if api is not None else f"API {mapping.api_id}"
        base = "/" + mapping.base_path if mapping.base_path and mapping.base_path != "(none)" else "/"
        nodes.append((f"api:{domain.region}:{mapping.api_id}:{mapping.stage or ''}", name,
                      f"{domain.name}{base} → stage {mapping.stage or '(default)'}"))
    return nodes or [(f"domain:{domain.name}", f"custom domain {domain.name}", "no API mappings")]


_ORIGIN_KIND = {OriginKind.API_GATEWAY: "API Gateway", OriginKind.S3: "S3", OriginKind.LOAD_BALANCER: "load balancer",
                OriginKind.CUSTOM: "custom origin"}


def diagram(dist: Distribution, inv: Inventory, findings: Sequence[Finding]) -> str:
    """The inline SVG: behaviors (in CloudFront's order) -> origins -> APIs and stages, failing edges in red."""
    anchors = {f.key: finding_anchor(dist.id, i) for i, f in enumerate(findings)}
    behaviors = [_Node(f"b:{b.path_pattern}", 0, behavior_label(b.path_pattern),
                       "all methods" if set(ALL_METHODS) <= b.allowed_methods
                       else ", ".join(m for m in ALL_METHODS if m in b.allowed_methods))
                 for b in dist.behaviors]
    origins: dict[str, _Node] = {}
    for origin in dist.origins:
        origins[origin.id] = _Node(f"o:{origin.id}", 1, f"origin {origin.id}",
                                   f"{_ORIGIN_KIND.get(origin.kind, origin.kind.value)} · {origin.domain_name}")
    apis: dict[str, _Node] = {}
    edges: dict[tuple[str, str], _Edge] = {}
    for node, behavior in zip(behaviors, dist.behaviors):
        target = origins.get(behavior.target_origin_id)
        if target is not None:
            edges[(node.key, target.key)] = _Edge(node, target)
    for origin in dist.origins:
        for key, title, kind in _api_nodes(origin, inv):
            node = apis.setdefault(key, _Node(key, 2, title, kind))
            edges[(origins[origin.id].key, node.key)] = _Edge(origins[origin.id], node)

    by_key = {n.key: n for n in (*behaviors, *origins.values(), *apis.values())}
    for finding in findings:
        b_key, o_key = f"b:{finding.behavior}", f"o:{finding.origin}"
        if finding.behavior and (b_key, o_key) in edges:
            edges[(b_key, o_key)].findings.append(finding)  # the request path through this behavior fails
        elif finding.origin and o_key in by_key:
            # between the origin and what is behind it; for an origin with nothing drawn behind it (a load
            # balancer whose certificate does not match), every request sent to it fails: the edges into it
            beyond = [e for (start, _), e in edges.items() if start == o_key]
            into = [e for (_, end), e in edges.items() if end == o_key]
            for edge in beyond or into:
                edge.findings.append(finding)
            by_key[o_key].bad.append(finding)
        elif finding.behavior and b_key in by_key:
            by_key[b_key].bad.append(finding)
    for edge in edges.values():
        if edge.findings:
            edge.start.bad.extend(f for f in edge.findings if f not in edge.start.bad)

    # rows: behaviors in order; each origin near its first behavior; each API near its first origin
    for row, node in enumerate(behaviors):
        node.row = row
    _place(list(origins.values()), edges, behaviors)
    _place(list(apis.values()), edges, list(origins.values()))
    rows = max([n.row for n in by_key.values()] + [0]) + 1
    width = COLUMN_X[2] + NODE_W + PAD
    height = PAD + 24 + rows * ROW + PAD

    out = [f'<svg class="diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="behaviors, origins and APIs of {_esc(dist.id)}">',
           f"<title>Distribution {_esc(dist.id)}: behaviors, origins and the APIs behind them</title>"]
    for column, name in enumerate(("Behaviors (first match wins)", "Origins", "APIs and stages")):
        out.append(f'<text class="col" x="{COLUMN_X[column]}" y="{PAD + 8}">{name}</text>')
    for edge in edges.values():
        x1, y1 = edge.start.x + NODE_W, edge.start.y + NODE_H / 2
        x2, y2 = edge.end.x, edge.end.y + NODE_H / 2
        middle = (x1 + x2) / 2
        path = f"M{x1},{y1:g} C{middle:g},{y1:g} {middle:g},{y2:g} {x2},{y2:g}"
        if edge.findings:
            rules = ", ".join(dict.fromkeys(f.rule for f in edge.findings))
            out.append(f'<a href="#{anchors[edge.findings[0].key]}" class="fail-link">'
                       f'<path class="edge fail" d="{path}" data-rules="{_esc(rules)}">'
                       f"<title>fails: {_esc(rules)}</title></path></a>")
        else:
            out.append(f'<path class="edge" d="{path}"/>')
    for node in by_key.values():
        out.append(_node_svg(node, anchors))
    out.append("</svg>")
    return "".join(out)


def _place(nodes: list[_Node], edges: Mapping[tuple[str, str], _Edge], left: Sequence[_Node]) -> None:
    """Rows for a column: each node as near as it can be to the first node on its left that leads to it."""
    wanted: dict[str, int] = {}
    for edge in edges.values():
        if edge.start in left and edge.end in nodes:
            wanted.setdefault(edge.end.key, edge.start.row)
    taken: set[int] = set()
    for node in sorted(nodes, key=lambda n: wanted.get(n.key, 10_000)):
        row = wanted.get(node.key, max(taken, default=-1) + 1)
        while row in taken:
            row += 1
        node.row = row
        taken.add(row)


def _node_svg(node: _Node, anchors: Mapping[FindingKey, str]) -> str:
    bad = " bad" if node.bad else ""
    tip = node.title + (f" · {node.kind}" if node.kind else "")
    if node.bad:
        tip += " · " + ", ".join(dict.fromkeys(f.rule for f in node.bad))
    box = (f'<g class="node{bad}" data-key="{_esc(node.key)}"><title>{_esc(tip)}</title>'
           f'<rect x="{node.x}" y="{node.y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
           f'<text x="{node.x + 10}" y="{node.y + 16}">{_esc(_fit(node.title))}</text>'
           f'<text class="kind" x="{node.x + 10}" y="{node.y + 32}">{_esc(_fit(node.kind, 38))}</text></g>')
    if node.bad:
        return f'<a href="#{anchors[node.bad[0].key]}">{box}</a>'
    return box


# --------------------------------------------------------------------------------------------- the findings


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.rstrip("\n").splitlines():
        kind = "hunk" if line.startswith(("@@", "---", "+++")) else "add" if line.startswith("+") else \
            "del" if line.startswith("-") else ""
        lines.append(f'<span class="{kind or "ctx"}">{_esc(line)}</span>')
    return "<pre class=\"diff\">" + "".join(lines) + "</pre>"


def _finding_html(finding: Finding, anchor: str, diff: str | None, trace: str | None, url: str | None) -> str:
    color = SEVERITY_COLOR[finding.severity]
    where = []
    if finding.behavior:
        where.append(f"behavior {behavior_label(finding.behavior)}")
    if finding.origin:
        where.append(f"origin {finding.origin}")
    rule = _esc(finding.rule)
    rule_html = f'<a class="rule" href="{_esc(url)}">{rule}</a>' if url else f'<span class="rule">{rule}</span>'
    rows = [("What users see", _esc(finding.symptom)),
            (f"Fix ({_esc(finding.fix.fix_class.value)})", _esc(finding.fix.summary))]
    if finding.fix.ticket:
        rows.append(("Change to make", _esc(finding.fix.ticket)))
    if finding.evidence:
        rows.append(("Evidence", "<ul>" + "".join(f"<li>{_esc(e)}</li>" for e in finding.evidence) + "</ul>"))
    if finding.notes:
        rows.append(("Notes", "<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in finding.notes) + "</ul>"))
    if trace:
        before, _, after = trace.partition(" | ")
        parts = [f'<div class="trace before">{_esc(before)}</div>']
        if after:
            parts.append(f'<div class="trace after">{_esc(after)}</div>')
        rows.append(("Trace", "".join(parts)))
    if diff:
        rows.append(("Diff", _diff_html(diff)))
    body = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return (f'<article class="finding" id="{_esc(anchor)}" data-rule="{rule}">'
            f'<h3><span class="sev" style="background:{color}">{finding.severity.value.upper()}</span>{rule_html}'
            f' <span class="sub">{_esc(" → ".join(where) or "whole distribution")}</span></h3>'
            f"<p>{_esc(finding.message)}</p><dl>{body}</dl></article>")


def render_html(inv: Inventory, findings: Sequence[Finding], warnings: Sequence[str], *,
                diffs: Mapping[FindingKey, str | None] | None = None,
                traces: Mapping[FindingKey, str] | None = None,
                urls: Mapping[str, str] | None = None,
                metadata: Mapping[str, Any] | None = None) -> str:
    """The page. ``diffs`` and ``traces`` are keyed by ``Finding.key``; ``urls`` maps rule ids to their docs."""
    diffs, traces, urls = diffs or {}, traces or {}, urls or {}
    by_dist: dict[str, list[Finding]] = {}
    for finding in findings:
        by_dist.setdefault(finding.distribution, []).append(finding)
    meta = metadata or {}
    facts = [counts_line(findings), f"{len(inv.distributions)} distribution(s)"]
    if meta.get("generated_at"):
        facts.append(f"generated {meta['generated_at']}")
    if meta.get("edgemedic"):
        facts.append(f"edgemedic {meta['edgemedic']}, catalog v{meta.get('catalog_version', '?')}")
    if meta.get("accounts"):
        facts.append("account " + ", ".join(meta["accounts"]))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', CSP,
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>edgemedic scan: " + _esc(counts_line(findings)) + "</title>",
             f"<style>{CSS}</style></head><body>",
             f'<header><h1>edgemedic scan</h1><div class="meta">{_esc(" · ".join(facts))}</div>']
    if findings:
        counts = " ".join(f'<span class="sev" style="background:{SEVERITY_COLOR[s]}">{s.value} '
                          f"{sum(1 for f in findings if f.severity is s)}</span>" for s in SEVERITIES
                          if any(f.severity is s for f in findings))
        parts.append(f"<p>{counts}</p>")
    parts.append("</header><main>")
    for dist in inv.distributions:
        own = by_dist.get(dist.id, [])
        names = ", ".join(dist.aliases) or "no aliases"
        parts.append(f'<section class="dist" id="d-{_esc(dist.id)}" data-distribution="{_esc(dist.id)}">'
                     f"<h2>Distribution {_esc(dist.id)}</h2>"
                     f'<div class="sub">{_esc(dist.domain_name)} ({_esc(names)}) · '
                     f'<span class="{"" if own else "clean"}">{_esc(counts_line(own))}</span></div>')
        parts.append(diagram(dist, inv, own))
        for index, finding in enumerate(own):
            parts.append(_finding_html(finding, finding_anchor(dist.id, index), diffs.get(finding.key),
                                       traces.get(finding.key), urls.get(finding.rule)))
        parts.append("</section>")
    if warnings:
        parts.append('<section class="dist warn"><h2>Could not read</h2><p>Rules that needed these stayed '
                     "silent.</p><ul>" + "".join(f"<li>{_esc(w)}</li>" for w in warnings) + "</ul></section>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


__all__ = ["diagram", "finding_anchor", "render_html"]
