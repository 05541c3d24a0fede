"""netem over netlink, in-process, for the parameters pyroute2 can encode.

A live change through ``tc`` costs a process; a timeline stepping a trace's rate every
100 ms pays that each step. pyroute2 encodes netem's base options, correlations, reorder,
corrupt and rate, so an impairment made only of those is sent as one RTM_NEWQDISC from a
socket inside the node's namespace. Everything else (Gilbert-Elliott loss, slots, ECN,
rates beyond 32 bits, and any change of the delay distribution table) stays with ``tc``.
A change that leaves the distribution out keeps the table already loaded: the kernel only
replaces it when one is sent.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from pyroute2.netlink import NLM_F_CREATE, NLM_F_EXCL
from pyroute2.netlink.rtnl import RTM_NEWQDISC, TC_H_ROOT
from pyroute2.netlink.rtnl.tcmsg import sched_netem, tcmsg

from ..topology.model import Impairment

ROOT_HANDLE = 0x10000  # "1:", as the tc path writes it
MAX_RATE_BPS = (2**32 - 1) * 8  # netem's 32-bit bytes/s rate field; above it tc sends RATE64


def encodable(imp: Impairment, distribution_loaded: str | None) -> bool:
    """Whether ``imp`` (already effective) can go over netlink on a qdisc whose delay
    distribution is ``distribution_loaded`` (None: no table)."""
    if imp.gemodel is not None or imp.slot is not None or imp.ecn:
        return False
    if imp.rate is not None and imp.rate.bps > MAX_RATE_BPS:
        return False
    wanted_table = imp.distribution if imp.distribution not in (None, "uniform") else None
    return wanted_table == distribution_loaded


def netem_options(imp: Impairment) -> dict[str, Any]:
    """pyroute2's netem option dict for ``imp`` (times in microseconds, shares in percent)."""
    kwargs: dict[str, Any] = {"limit": imp.limit or 1000}
    for name, value in (("delay", imp.delay), ("jitter", imp.jitter)):
        if value is not None:
            kwargs[name] = int(round(value.us))
    percents = [("delay_corr", imp.delay_correlation), ("loss", imp.loss), ("loss_corr", imp.loss_correlation),
                ("duplicate", imp.duplicate), ("dup_corr", imp.duplicate_correlation),
                ("prob_reorder", imp.reorder), ("corr_reorder", imp.reorder_correlation),
                ("prob_corrupt", imp.corrupt), ("corr_corrupt", imp.corrupt_correlation)]
    for name, percent in percents:
        if percent is not None:
            kwargs[name] = percent.value
    if imp.reorder_gap is not None:
        kwargs["gap"] = imp.reorder_gap
    if imp.rate is not None:
        kwargs["rate"] = f"{int(imp.rate.bps)}bit"
        if imp.packet_overhead is not None:
            kwargs["packet_overhead"] = imp.packet_overhead
    return sched_netem.get_parameters(kwargs)


def send_netem(netns: str, ifname: str, imp: Impairment, what: str, create: bool = False) -> None:
    """Change (or with ``create``, add) the root netem qdisc of ``ifname`` inside a namespace."""
    from ..backends.emulated import namespace_thread
    from ..backends.netns import netns_path, setns
    from ..backends.rtnl import RtnlBatch, prepare

    thread = namespace_thread()

    def inside() -> tuple[int, socket.socket]:
        fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(fd)
            try:
                return socket.if_nametoindex(ifname), socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
            finally:
                thread.go_home()
        finally:
            os.close(fd)

    index, sock = thread.call(inside)
    try:
        msg = tcmsg()
        msg["index"] = index
        msg["handle"] = ROOT_HANDLE
        msg["parent"] = TC_H_ROOT
        msg["attrs"] = [("TCA_KIND", "netem"), ("TCA_OPTIONS", netem_options(imp))]
        batch = RtnlBatch(prepare(sock), f"{what}: ")
        batch.add_message(msg, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL if create else 0,
                          f"{'add' if create else 'change'} netem on {ifname}")
        batch.commit()
    finally:
        sock.close()
