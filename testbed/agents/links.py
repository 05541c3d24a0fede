"""Take a node's interface down and back up, as a modem losing and regaining its bearer.

The kernel flushes every route and neighbour entry (permanent ones too) through an interface
that goes admin-down and brings none of them back, so :func:`link_up` restores the node's
recorded routes and the peer's neighbour entry through that interface (as a modem's re-attach
would) before traffic can flow again.
"""

from __future__ import annotations

from ..backends.emulated import EmulatedRig
from .errors import AgentError


def _ip(rig: EmulatedRig, node: str, argv: list[str]) -> None:
    done = rig.run(node, ["ip", *argv], timeout=10)
    if done.returncode != 0:
        raise AgentError(f"{node}: expected `ip {' '.join(argv)}` to succeed, got {done.returncode}: "
                         f"{done.stderr.strip()}")


def link_down(rig: EmulatedRig, node: str, dev: str) -> None:
    _ip(rig, node, ["link", "set", "dev", dev, "down"])


def link_up(rig: EmulatedRig, node: str, dev: str) -> None:
    _ip(rig, node, ["link", "set", "dev", dev, "up"])
    for iface in rig.node(node)["interfaces"]:
        if iface["name"] == dev and "peer_mac" in iface:  # rigs brought up before neighbours were fixed lack it
            _ip(rig, node, ["neigh", "replace", iface["peer"], "lladdr", iface["peer_mac"], "dev", dev,
                            "nud", "permanent"])
    for route in rig.node(node)["routes"]:
        if route["dev"] == dev:
            _ip(rig, node, ["route", "replace", route["dst"], "via", route["via"], "dev", dev, "proto", "static"])
