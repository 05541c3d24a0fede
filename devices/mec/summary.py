"""Per-term figures of a list of task records: count, mean, p50, p95 (seconds)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

TERMS = ("upload_s", "queue_s", "compute_s", "download_s", "total_s", "local_s")


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def term_stats(values: Iterable[float]) -> dict[str, float] | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return {"n": len(ordered), "mean": statistics.fmean(ordered), "p50": percentile(ordered, 50),
            "p95": percentile(ordered, 95)}


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts by status and by where the task ran; term figures over the completed edge runs
    (``upload_s`` .. ``download_s``), every completed task (``total_s``) and local runs (``local_s``)."""
    ok = [r for r in records if r["status"] == "ok"]
    edge = [r for r in ok if r.get("edge")]
    terms: dict[str, Any] = {t: term_stats(r["edge"][t] for r in edge) for t in TERMS[:4]}
    terms["total_s"] = term_stats(r["total_s"] for r in ok)
    terms["local_s"] = term_stats(r["local_s"] for r in ok if r.get("local_s") is not None)
    predicted = {k: term_stats(r["decision"][k] for r in ok) for k in ("local_s", "offload_s")}
    return {"tasks": len(records), "ok": len(ok), "rejected": sum(r["status"] == "rejected" for r in records),
            "errors": sum(r["status"] == "error" for r in records),
            "local": sum(r["where"] == "local" for r in ok), "edge": sum(r["where"] == "edge" for r in ok),
            "measured": terms, "predicted": predicted}
