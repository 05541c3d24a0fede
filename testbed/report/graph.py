"""Topology drawings: the DOT text from results.json rendered by Graphviz when it is installed.

The SVG goes into the page as a base64 ``<img>``, not inline: the DOT text comes from the
results file, and an image can neither run script nor follow links, and its ids cannot clash
with the page's.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass

DOT_TIMEOUT_S = 30


@dataclass(frozen=True)
class Drawing:
    """Either an ``image/svg+xml`` data URI, or why there is none."""

    data_uri: str | None
    problem: str | None


def render_dot(dot_text: str) -> Drawing:
    program = shutil.which("dot")
    if program is None:
        return Drawing(None, "Graphviz is not installed (no `dot` on PATH; apt install graphviz)")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot_text.encode(), capture_output=True,
                              timeout=DOT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return Drawing(None, f"`dot -Tsvg` took longer than {DOT_TIMEOUT_S} s")
    except OSError as exc:
        return Drawing(None, f"cannot run {program}: {exc}")
    if done.returncode != 0 or b"<svg" not in done.stdout:
        reason = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        return Drawing(None, f"`dot -Tsvg` failed: {reason}")
    return Drawing("data:image/svg+xml;base64," + base64.b64encode(done.stdout).decode(), None)
