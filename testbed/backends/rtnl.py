"""Batched rtnetlink requests: many messages per ``send``, every one acknowledged.

pyroute2 encodes the messages (so the wire format is a maintained library's); this module
only pipelines them. Sending a namespace's whole configuration in one datagram and then
reading the acks is what brings bring-up under the ``ip -batch`` floor: the kernel handles
the messages in order, so a route may follow the address it needs in the same batch.
Extended acks are on, so a failure carries the kernel's own explanation.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
IFF_UP = 1
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RTN_UNICAST = 1
NUD_PERMANENT = 0x80
CHUNK = 200  # messages per datagram: acks for a chunk fit the default receive buffer


@dataclass(frozen=True)
class NetlinkFailure:
    """One rejected request: what we asked, and what the kernel said."""

    request: str
    errno: int
    detail: str

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.request}: {os.strerror(self.errno)}{extra}"


class NetlinkBatchError(OSError):
    def __init__(self, failures: list[NetlinkFailure]) -> None:
        super().__init__(failures[0].errno, "; ".join(str(f) for f in failures))
        self.failures = failures


def prepare(sock: socket.socket) -> socket.socket:
    """Bind a raw NETLINK_ROUTE socket and ask for short acks with kernel error text."""
    sock.bind((0, 0))
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    return sock


class RtnlBatch:
    """Requests queued for one socket; :meth:`commit` sends them and checks every ack."""

    def __init__(self, sock: socket.socket, context: str = "") -> None:
        self.sock = sock
        self.context = context
        self._messages: list[tuple[bytes, str]] = []

    def __len__(self) -> int:
        return len(self._messages)

    def add_message(self, msg: Any, kind: int, flags: int, what: str) -> None:
        """Queue any pyroute2-encodable message (a qdisc, say); ``what`` names it in errors."""
        self._add(msg, kind, flags, what)

    def _add(self, msg: Any, kind: int, flags: int, what: str) -> None:
        seq = len(self._messages) + 1
        msg["header"]["type"] = kind
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
        msg["header"]["sequence_number"] = seq
        msg.encode()
        self._messages.append((bytes(msg.data), what))

    def add_veth(self, ifname: str, index: int, peer: str, peer_index: int, peer_netns_fd: int,
                 mtu: int | None, macs: tuple[str, str]) -> None:
        peer_msg: dict = {"index": peer_index, "attrs": [("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", peer_netns_fd),
                                                         ("IFLA_ADDRESS", macs[1])]}
        attrs: list = [("IFLA_IFNAME", ifname), ("IFLA_ADDRESS", macs[0])]
        if mtu:
            attrs.append(("IFLA_MTU", mtu))
            peer_msg["attrs"].append(("IFLA_MTU", mtu))
        attrs.append(("IFLA_LINKINFO", {"attrs": [
            ("IFLA_INFO_KIND", "veth"),
            ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer_msg)]}),
        ]}))
        msg = ifinfmsg()
        msg["index"] = index
        msg["attrs"] = attrs
        self._add(msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, f"add veth {ifname} (peer {peer})")

    def set_link(self, index: int, name: str, up: bool = True, alias: str | None = None) -> None:
        msg = ifinfmsg()
        msg["index"] = index
        msg["flags"] = IFF_UP if up else 0
        msg["change"] = IFF_UP
        if alias is not None:
            msg["attrs"] = [("IFLA_IFALIAS", alias)]
        self._add(msg, RTM_NEWLINK, 0, f"set {name} {'up' if up else 'down'}")

    def add_address(self, index: int, name: str, address: ipaddress.IPv4Interface) -> None:
        msg = ifaddrmsg()
        msg["family"] = socket.AF_INET
        msg["prefixlen"] = address.network.prefixlen
        msg["index"] = index
        ip = str(address.ip)
        msg["attrs"] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
        self._add(msg, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, f"add address {address} on {name}")

    def add_route(self, dst: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address, index: int, name: str) -> None:
        msg = rtmsg()
        msg["family"] = socket.AF_INET
        msg["dst_len"] = dst.prefixlen
        msg["table"] = RT_TABLE_MAIN
        msg["proto"] = RTPROT_STATIC
        msg["scope"] = 0
        msg["type"] = RTN_UNICAST
        msg["attrs"] = [("RTA_GATEWAY", str(gateway)), ("RTA_OIF", index)]
        if dst.prefixlen:
            msg["attrs"].insert(0, ("RTA_DST", str(dst.network_address)))
        self._add(msg, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, f"add route {dst} via {gateway} dev {name}")

    def add_neighbour(self, index: int, name: str, address: ipaddress.IPv4Address, mac: str) -> None:
        msg = ndmsg()
        msg["family"] = socket.AF_INET
        msg["ifindex"] = index
        msg["state"] = NUD_PERMANENT
        msg["attrs"] = [("NDA_DST", str(address)), ("NDA_LLADDR", mac)]
        self._add(msg, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, f"add neighbour {address} lladdr {mac} on {name}")

    def commit(self) -> None:
        """Send everything queued; raise :class:`NetlinkBatchError` naming each rejected request."""
        failures: list[NetlinkFailure] = []
        messages, self._messages = self._messages, []
        for start in range(0, len(messages), CHUNK):
            chunk = messages[start:start + CHUNK]
            self.sock.send(b"".join(data for data, _ in chunk))
            for seq, code, detail in _read_acks(self.sock, len(chunk)):
                if code:
                    what = messages[seq - 1][1] if 0 < seq <= len(messages) else f"request {seq}"
                    failures.append(NetlinkFailure(f"{self.context}{what}", code, detail))
        if failures:
            raise NetlinkBatchError(failures)


def _read_acks(sock: socket.socket, count: int) -> list[tuple[int, int, str]]:
    acks: list[tuple[int, int, str]] = []
    while len(acks) < count:
        data = sock.recv(1 << 16)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", data, offset + 16)[0]
                detail = _ext_ack_message(data, offset, length, flags) if code else ""
                acks.append((seq, code, detail))
            offset += (length + 3) & ~3
    return acks


def _ext_ack_message(data: bytes, offset: int, length: int, flags: int) -> str:
    """The kernel's NLMSGERR_ATTR_MSG text, when it sent one."""
    if not flags & NLM_F_ACK_TLVS:
        return ""
    # nlmsghdr (16) + error code (4) + the echoed request header (16, capped by NETLINK_CAP_ACK)
    pos = offset + 36
    end = offset + length
    while pos + 4 <= end:
        attr_len, attr_type = struct.unpack_from("=HH", data, pos)
        if attr_len < 4:
            break
        if attr_type == NLMSGERR_ATTR_MSG:
            return data[pos + 4:pos + attr_len].rstrip(b"\0").decode(errors="replace")
        pos += (attr_len + 3) & ~3
    return ""


def link_alias(sock: socket.socket, index: int) -> str | None:
    """The ifalias of interface ``index`` in the socket's namespace (None if unset or absent)."""
    msg = ifinfmsg()
    msg["index"] = index
    msg["header"]["type"] = RTM_GETLINK
    msg["header"]["flags"] = NLM_F_REQUEST
    msg["header"]["sequence_number"] = 1
    msg.encode()
    sock.send(msg.data)
    data = sock.recv(1 << 16)
    length, kind = struct.unpack_from("=IH", data, 0)
    if kind != RTM_NEWLINK:
        return None
    reply = ifinfmsg(data[:length])
    reply.decode()
    return reply.get_attr("IFLA_IFALIAS")
