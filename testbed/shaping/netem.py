"""One direction of a link as a netem qdisc: the exact ``tc`` arguments for an impairment.

Pitfalls avoided on purpose (link-profiles.md §6):

- ``limit`` is never netem's default of 1000 packets, which drops at high bandwidth x delay:
  it is sized from the rate and delay when not given.
- jitter does not reorder packets unless the impairment asks for reordering: netem sorts
  its queue by send time, so a packet with less jitter overtakes an earlier one. With a
  ``rate`` set, netem schedules each packet after the previous one instead; so when jitter
  is given without ``rate`` or ``reorder``, a rate far above anything a veth carries
  (:data:`ORDER_KEEPING_RATE`) is added to keep the order.
- jitter is always given a distribution: netem's default is uniform, not normal.
"""

from __future__ import annotations

import math

from ..topology.model import Impairment
from ..topology.units import Rate

#: The rate that keeps jittered packets in order: 1500-byte packets take 0.4 us at 32 Gbit/s,
#: far above what a veth pair carries on one host, and it still fits netem's 32-bit bytes/s
#: field, so such links can be changed over netlink.
ORDER_KEEPING_RATE = Rate(32e9)
DEFAULT_DISTRIBUTION = "normal"
MIN_LIMIT = 1000
#: Packets a link without a rate can hold while delaying: a veth pushes well under a million
#: packets per second here, and delays above 10 ms at that load are rare in the library.
UNRATED_LIMIT = 10000
MTU_BYTES = 1500


def effective(imp: Impairment) -> Impairment:
    """The impairment as it will be applied: defaults that avoid netem's pitfalls filled in."""
    changes: dict[str, object] = {}
    if imp.jitter is not None and imp.distribution is None:
        changes["distribution"] = DEFAULT_DISTRIBUTION
    if imp.jitter is not None and imp.rate is None and imp.reorder is None:
        changes["rate"] = ORDER_KEEPING_RATE
    merged = imp.merged(Impairment(**changes)) if changes else imp  # type: ignore[arg-type]
    if merged.limit is None:
        merged = merged.merged(Impairment(limit=default_limit(merged)))
    return merged


def default_limit(imp: Impairment) -> int:
    """Twice the packets in flight at line rate over the delay (plus jitter), at least 1000."""
    if imp.rate is None or imp.rate == ORDER_KEEPING_RATE:
        return UNRATED_LIMIT
    delay_s = ((imp.delay.us if imp.delay else 0.0) + 2 * (imp.jitter.us if imp.jitter else 0.0)) / 1e6
    packets = imp.rate.bps / 8 / MTU_BYTES * delay_s
    return max(MIN_LIMIT, math.ceil(2 * packets))


def netem_args(imp: Impairment) -> list[str]:
    """``tc qdisc ... netem`` options for ``imp`` (already :func:`effective`), in tc's order."""
    args: list[str] = []
    if imp.limit is not None:
        args += ["limit", str(imp.limit)]
    if imp.delay is not None:
        args += ["delay", _time(imp.delay.us)]
        if imp.jitter is not None:
            args.append(_time(imp.jitter.us))
            if imp.delay_correlation is not None:
                args.append(_pct(imp.delay_correlation.value))
            if imp.distribution not in (None, "uniform"):  # uniform is netem's own, table-less default
                args += ["distribution", imp.distribution]
    if imp.loss is not None:
        args += ["loss", "random", _pct(imp.loss.value)]
        if imp.loss_correlation is not None:
            args.append(_pct(imp.loss_correlation.value))
    elif imp.gemodel is not None:
        ge = imp.gemodel
        args += ["loss", "gemodel", _pct(ge.p.value)]
        for optional in (ge.r, ge.bad_loss, ge.good_loss):
            if optional is None:
                break
            args.append(_pct(optional.value))
    if imp.ecn:
        args.append("ecn")
    for name, value, corr in (("duplicate", imp.duplicate, imp.duplicate_correlation),
                              ("corrupt", imp.corrupt, imp.corrupt_correlation),
                              ("reorder", imp.reorder, imp.reorder_correlation)):
        if value is not None:
            args += [name, _pct(value.value)]
            if corr is not None:
                args.append(_pct(corr.value))
    if imp.reorder_gap is not None:
        args += ["gap", str(imp.reorder_gap)]
    if imp.rate is not None:
        args += ["rate", f"{int(imp.rate.bps)}bit"]
        if imp.packet_overhead is not None:
            args.append(str(imp.packet_overhead))
    if imp.slot is not None:
        args += ["slot", _time(imp.slot.min.us)]
        if imp.slot.max is not None:
            args.append(_time(imp.slot.max.us))
        if imp.slot.packets is not None:
            args += ["packets", str(imp.slot.packets)]
        if imp.slot.bytes is not None:
            args += ["bytes", str(imp.slot.bytes)]
    return args


def _time(us: float) -> str:
    return f"{us:g}us" if us != int(us) else f"{int(us)}us"


def _pct(value: float) -> str:
    return f"{value:g}%"
