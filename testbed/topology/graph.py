"""Drawings of a topology: Graphviz dot and Mermaid, from the resolved model.

Modems that carry a link (``via``) are drawn beside it with a dotted edge to the device
they serve, since in an emulated rig they are not on the packet path.
"""

from __future__ import annotations

from .model import Link, Topology

_DOT_SHAPES = {"sensor": "ellipse", "modem": "cds", "router": "diamond", "edge": "box3d", "cloud": "folder"}
_MERMAID_SHAPES = {"sensor": ("([", "])"), "modem": (">", "]"), "router": ("{{", "}}"), "edge": ("[[", "]]"),
                   "cloud": ("[(", ")]")}


def _label(link: Link) -> str:
    assert link.addresses is not None
    parts = [link.name or "", f"{link.addresses[0].network}"]
    if link.profile:
        parts.append(f"profile {link.profile}")
    return "\\n".join(parts)


def to_dot(topo: Topology) -> str:
    lines = [f'graph "{topo.name}" {{', "  graph [rankdir=LR, fontname=Helvetica];",
             "  node [fontname=Helvetica]; edge [fontname=Helvetica, fontsize=10];"]
    for name, node in topo.nodes.items():
        lines.append(f'  "{name}" [shape={_DOT_SHAPES[node.role]}, label="{name}\\n({node.role})"];')
    for link in topo.links:
        a, b = link.endpoints
        lines.append(f'  "{a.node}" -- "{b.node}" [label="{_label(link)}", taillabel="{a.interface}", '
                     f'headlabel="{b.interface}"];')
        if link.via:
            lines.append(f'  "{link.via}" -- "{a.node}" [style=dotted, label="carries {link.name}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(topo: Topology) -> str:
    lines = ["graph LR"]
    for name, node in topo.nodes.items():
        opening, closing = _MERMAID_SHAPES[node.role]
        lines.append(f'  {_mid(name)}{opening}"{name} ({node.role})"{closing}')
    for link in topo.links:
        a, b = link.nodes
        label = _label(link).replace("\\n", "<br/>")
        lines.append(f'  {_mid(a)} ---|"{label}"| {_mid(b)}')
        if link.via:
            lines.append(f'  {_mid(link.via)} -.-|"carries {link.name}"| {_mid(a)}')
    return "\n".join(lines) + "\n"


def _mid(name: str) -> str:
    """Mermaid ids may not contain '-' in every renderer; keep them plain."""
    return "n_" + name.replace("-", "_")
