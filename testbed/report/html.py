"""HTML building blocks: every piece of text passes ``html.escape`` unless it is already Markup.

Names, labels and messages come from test code and results files; a label such as
``<script>`` must show as text. So the only way to put a string into the page is ``esc`` or a
helper that calls it, and finished fragments travel as ``Markup`` so they are not escaped twice.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from .fmt import OUTCOME_COLOURS


class Markup(str):
    """A string that is already HTML."""

    __slots__ = ()


Cell = str | Markup


def esc(text: object) -> Markup:
    return text if isinstance(text, Markup) else Markup(html.escape(str(text), quote=True))


def join(parts: Iterable[Cell]) -> Markup:
    return Markup("".join(esc(p) for p in parts))


def tag(name: str, content: Cell = "", **attrs: str) -> Markup:
    """``<name attrs>content</name>``; attribute names use ``_`` for ``-`` and a trailing ``_`` for keywords."""
    attr_text = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return Markup(f"<{name}{attr_text}>{esc(content)}</{name}>")


def outcome(word: str, text: str | None = None) -> Markup:
    """An outcome word in its colour: pass green, marginal amber, fail red, unset grey."""
    return tag("span", text if text is not None else word, class_=f"badge o-{word}")


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], numeric: Sequence[int] = ()) -> Markup:
    """A table; columns listed in ``numeric`` are right-aligned."""
    head = join(tag("th", h, class_="num") if i in numeric else tag("th", h) for i, h in enumerate(headers))
    body = join(
        tag("tr", join(tag("td", c, class_="num") if i in numeric else tag("td", c) for i, c in enumerate(row)))
        for row in rows)
    return tag("table", join([tag("thead", tag("tr", head)), tag("tbody", body)]))


def figure(svg: str, caption: str) -> Markup:
    """A matplotlib SVG (made by plots.py, which escapes its own text) with a caption."""
    return tag("figure", join([Markup(svg), tag("figcaption", caption)]))


def section(ident: str, title: str, body: Iterable[Cell]) -> Markup:
    return tag("section", join([tag("h2", title), *body]), id=ident)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#1f2328;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafbfc}
.badge{display:inline-block;padding:0 .5em;border-radius:.8em;color:#fff;font-weight:600;font-size:12px}
""" + "".join(f".o-{k}{{background:{v}}}\n" for k, v in OUTCOME_COLOURS.items()) + """
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#57606a;font-size:12px}
img.graph{max-width:100%;height:auto;border:1px solid #d0d7de}
pre{background:#f6f8fa;padding:.6em;overflow:auto;font-size:12px;white-space:pre-wrap}
nav a{margin-right:1em}dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 1em}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}code{font-size:12px}
.counts span{margin-right:.4em}
"""


def page(title: str, body: Iterable[Cell]) -> str:
    head = join([Markup('<meta charset="utf-8">'),
                 Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
                 tag("title", title), Markup(f"<style>{_CSS}</style>")])
    return f'<!DOCTYPE html>\n<html lang="en">\n<head>{head}</head>\n<body>\n{join(body)}\n</body>\n</html>\n'
