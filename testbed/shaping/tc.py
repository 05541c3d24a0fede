"""Running ``tc`` inside a node, and reading netem back from the kernel.

``tc`` is the reference implementation of every netem parameter (distribution tables,
Gilbert-Elliott loss, slots, ECN, 64-bit rates), so qdiscs are written with it: one
``tc -n NS -batch -`` process per namespace, lines built from the model (an argv list for
the process, never a shell). What the kernel holds is read back with ``tc -j``, so the
caller can compare it with what was asked: netem silently keeps some old parameters across
a ``change``, and the comparison is what catches that.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

from ..errors import TestbedError
from ..topology.model import GilbertElliott, Impairment, Slot
from ..topology.units import Duration, Percent, Rate


class ShapingError(TestbedError):
    """The kernel (through tc) refused a qdisc, or holds something other than what was set."""


@dataclass(frozen=True)
class TcLine:
    """One batch line and what it is for, so an error names the link, not a line number."""

    args: tuple[str, ...]
    what: str


def run_batch(netns: str, lines: list[TcLine]) -> None:
    """Run ``lines`` in ``netns`` with one tc process; raise naming the failing line's purpose."""
    if not lines:
        return
    text = "".join(" ".join(line.args) + "\n" for line in lines)
    result = subprocess.run(["tc", "-n", netns, "-batch", "-"], input=text, capture_output=True, text=True)
    if result.returncode == 0:
        return
    failed = re.search(r"Command failed -:(\d+)", result.stderr)
    message = " ".join(line for line in result.stderr.splitlines() if not line.startswith("Command failed"))
    if failed and 0 < int(failed.group(1)) <= len(lines):
        line = lines[int(failed.group(1)) - 1]
        raise ShapingError(f"{line.what}: tc refused `tc {' '.join(line.args)}`: {message.strip()}")
    raise ShapingError(f"tc failed in {netns}: {result.stderr.strip()}")


def show_root_qdisc(netns: str, ifname: str) -> dict | None:
    """The root qdisc of an interface as tc reports it in JSON (None: no qdisc of ours)."""
    result = subprocess.run(["tc", "-n", netns, "-j", "qdisc", "show", "dev", ifname, "root"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ShapingError(f"cannot read the qdisc of {ifname} in {netns}: {result.stderr.strip()}")
    for qdisc in json.loads(result.stdout or "[]"):
        if qdisc.get("root"):
            return qdisc
    return None


def impairment_from_tc(qdisc: dict | None) -> Impairment | None:
    """What a netem qdisc does, in the model's terms; None when the root qdisc is not netem.

    tc does not report which delay distribution table is loaded, so ``distribution`` is
    always None here.
    """
    if qdisc is None or qdisc.get("kind") != "netem":
        return None
    opts = qdisc.get("options", {})
    delay = opts.get("delay", {})
    fields: dict[str, object] = {"limit": opts.get("limit")}
    if delay.get("delay"):
        fields["delay"] = Duration(round(delay["delay"] * 1e6, 3))
    if delay.get("jitter"):
        fields["jitter"] = Duration(round(delay["jitter"] * 1e6, 3))
        fields["delay_correlation"] = _pct(delay.get("correlation"))
    loss = opts.get("loss-random")
    if loss and loss.get("loss"):
        fields["loss"] = _pct(loss["loss"])
        fields["loss_correlation"] = _pct(loss.get("correlation"))
    ge = opts.get("loss-gemodel")
    if ge:
        fields["gemodel"] = GilbertElliott(_pct(ge["p"]) or Percent(0.0), _pct(ge.get("r")), _pct(ge.get("1-h")),
                                           _pct(ge.get("1-k")))
    for name in ("duplicate", "corrupt", "reorder"):
        block = opts.get(name)
        if block and block.get(name):
            fields[name] = _pct(block[name])
            fields[f"{name}_correlation"] = _pct(block.get("correlation"))
    if fields.get("reorder") is not None and opts.get("gap"):
        fields["reorder_gap"] = opts["gap"]
    rate = opts.get("rate")
    if rate and rate.get("rate"):
        fields["rate"] = Rate(rate["rate"] * 8.0)
        if rate.get("packetoverhead"):
            fields["packet_overhead"] = rate["packetoverhead"]
    slot = opts.get("slot")
    if slot and (slot.get("min-delay") or slot.get("max-delay")):
        fields["slot"] = Slot(Duration(round(slot["min-delay"] * 1e6, 3)),
                              Duration(round(slot["max-delay"] * 1e6, 3)) if slot.get("max-delay") else None,
                              slot.get("packets") or None, slot.get("bytes") or None)
    if opts.get("ecn"):
        fields["ecn"] = True
    return Impairment(**{k: v for k, v in fields.items() if v is not None})  # type: ignore[arg-type]


def _pct(fraction: float | None) -> Percent | None:
    """tc reports probabilities as fractions; the model writes percentages. Zero means unset."""
    if not fraction:
        return None
    return Percent(round(fraction * 100, 6))
