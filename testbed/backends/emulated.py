"""The emulated backend: a whole rig as network namespaces and veth pairs on this host.

Every node is a namespace ``tb-<rig>-<node>``; every link a veth pair created with both ends
directly inside their namespaces, so nothing of a rig ever appears in the host namespace and
removing the namespaces removes everything (veths, addresses, routes) with them. Ownership is
recorded twice: in the run directory's journal (written before each namespace exists) and as
a tag on each namespace's loopback, so ``clean`` finds our namespaces even when the run
directory is gone, and leaves alone any namespace that lacks our tag.
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import HostUnsuitable, RigConflict, RigNotFound, TestbedError
from ..shaping import shaper
from ..topology import Impairment, Link, Topology
from ..topology.model import Direction
from ..topology.routing import DEFAULT
from . import cpu
from . import state as st
from .netns import (
    NamespaceThread,
    list_netns,
    netns_inode,
    netns_path,
    placeholder_tag,
    remove_netns,
    setns,
    write_sysctl,
)
from .plan import (
    NamespacePlan,
    RigPlan,
    check_rig_name,
    link_tag,
    ownership_tag,
    parse_tag,
    plan_rig,
    shaped_ends,
)
from .processes import stop_processes
from .rtnl import NetlinkBatchError, RtnlBatch, link_alias, prepare

LOOPBACK_INDEX = 1


class RigSetupError(TestbedError):
    """The kernel refused part of the rig; everything created so far has been removed."""


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise HostUnsuitable(
            f"{action} needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to manage network namespaces; "
            "run it as root or with sudo"
        )


_thread: NamespaceThread | None = None


def namespace_thread() -> NamespaceThread:
    """The process's single namespace thread, started on first use."""
    global _thread
    if _thread is None:
        _thread = NamespaceThread()
    return _thread


@dataclass
class DownReport:
    rig: str
    namespaces: list[str] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)


@dataclass
class CleanReport:
    removed: list[DownReport] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)


class EmulatedRig:
    """A rig that is up on this host; created by :meth:`up` or found again by :meth:`attach`."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.name: str = state["rig"]
        self.topology: Topology | None = None  # the model it was built from (set by up; attach leaves None)
        self._kernel_view: dict[tuple[str, str], Impairment | None] = {}  # last read-back per link end

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def up(cls, topology: Topology, rig: str | None = None, shaping: bool = True) -> EmulatedRig:
        """Create the rig, links shaped as the topology says (unless ``shaping`` is False);
        on any failure remove what was made and raise."""
        require_root("bringing a rig up")
        plan = plan_rig(topology, rig)
        shaped = shaped_ends(plan) if shaping else []
        if shaped:
            _require_netem(topology, len(shaped))
        with st.rig_lock(plan.rig):
            _refuse_existing(plan)
            run_id = secrets.token_hex(4)
            journal = st.Journal(plan.rig).open()
            journal.write("begin", run_id, st.now(), topology.source or "-")
            try:
                inodes = namespace_thread().call(lambda: _build(plan, run_id, journal))
                shaper.apply_initial(shaped)
                for name, node in topology.nodes.items():
                    if node.cpu is not None:
                        cpu.limit_node(plan.rig, name, node.cpu)
            except BaseException as exc:
                journal.close()
                _remove_rig_objects(plan.rig)
                if isinstance(exc, NetlinkBatchError):
                    raise _explain(exc, plan.rig) from None
                if isinstance(exc, FileExistsError):
                    raise RigConflict(f"namespace {os.path.basename(exc.filename or '')} appeared while rig "
                                      f"{plan.rig!r} was being built; nothing of the rig was left behind") from None
                if isinstance(exc, PermissionError):
                    require_root("bringing a rig up")
                    raise HostUnsuitable(f"the host refused to create namespaces ({exc}); is this a container "
                                         "without CAP_SYS_ADMIN?") from None
                if isinstance(exc, OSError) and exc.errno == errno.EINVAL and "unshare" in str(exc):
                    raise HostUnsuitable("the kernel has no network namespaces (CONFIG_NET_NS); "
                                         "an emulated rig needs them") from None
                raise
            journal.close()
            state = _state_of(plan, run_id, inodes, shaping)
            st.write_state(plan.rig, state)
        made = cls(state)
        made.topology = topology
        return made

    @classmethod
    def attach(cls, rig: str) -> EmulatedRig:
        state = st.read_state(check_rig_name(rig))
        if state is None:
            up = st.known_rigs()
            hint = f"; rigs up: {', '.join(up)}" if up else "; no rig is up"
            raise RigNotFound(f"rig {rig!r} is not up{hint}")
        return cls(state)

    def down(self) -> DownReport:
        return down_rig(self.name)

    # --- shaping ----------------------------------------------------------------------------

    def shape(self, link: str, direction: Direction | None = None, **fields: object) -> dict[str, Impairment | None]:
        """Change a link's shaping live: ``fields`` (YAML names with '_', values as in YAML;
        None removes a field) merge over what the link does now, in one direction or both.
        Returns what the kernel reports afterwards, per direction."""
        from ..shaping.changes import merge_changes

        entry = self._link_entry(link)
        directions = [direction] if direction else list(shaper.DIRECTIONS)
        wanted: dict[str, Impairment] = {d: merge_changes(entry[d], fields, f"link {link} ({d})") for d in directions}
        return self.set_shaping(link, wanted)

    def set_shaping(self, link: str, wanted: Mapping[str, Impairment]) -> dict[str, Impairment | None]:
        """Make each given direction of ``link`` do exactly ``wanted[direction]`` (no merging)."""
        from ..shaping.changes import impairment_from_dict

        ends = shaper.link_ends(self.state, link)
        entry = self._link_entry(link)
        _require_netem_for(self.name)
        result: dict[str, Impairment | None] = {}
        with st.rig_lock(self.name, wait=True):
            try:
                for d, imp in wanted.items():
                    previous = impairment_from_dict(entry[d], f"link {link} ({d})")
                    known = self._kernel_view.get((link, d), shaper.UNKNOWN)
                    result[d] = shaper.change(ends[d], imp, previous, known)  # type: ignore[index]
                    self._kernel_view[(link, d)] = result[d]
                    entry[d] = imp.as_dict()
                    entry["shaped"] = True
            finally:
                st.write_state(self.name, self.state)
        return result

    def _link_entry(self, link: str) -> dict[str, Any]:
        entry = next((lk for lk in self.state["links"] if lk["name"] == link), None)
        if entry is None:
            shaper.link_ends(self.state, link)  # raises the "no such link" error, naming the links there are
        return entry  # type: ignore[return-value]

    def intended(self, link: str) -> dict[str, Impairment]:
        """What each direction of ``link`` was last set to (from the rig's state; :meth:`shaping` reads
        the kernel instead). A rig brought up with ``shaping=False`` sets nothing until told."""
        from ..shaping.changes import impairment_from_dict

        entry = self._link_entry(link)
        if not entry["shaped"]:
            return {d: Impairment() for d in shaper.DIRECTIONS}
        return {d: impairment_from_dict(entry[d], f"link {link} ({d})") for d in shaper.DIRECTIONS}

    def impairment(self, link: Link, direction: Direction) -> Impairment:
        """:meth:`intended` for one direction, shaped like ``Topology.impairment`` so either can be
        handed to code that walks a path (testbed.topology.paths)."""
        return self.intended(link.name)[direction] if link.name else Impairment()

    def shaping(self, link: str) -> dict[str, Impairment | None]:
        """What the kernel does to each direction of ``link`` now (read back, not remembered)."""
        ends = shaper.link_ends(self.state, link)
        return {d: shaper.read(ends[d]) for d in shaper.DIRECTIONS}

    # --- nodes ------------------------------------------------------------------------------

    def node(self, name: str) -> dict[str, Any]:
        for node in self.state["nodes"]:
            if node["name"] == name:
                return node
        names = ", ".join(n["name"] for n in self.state["nodes"])
        raise RigNotFound(f"rig {self.name!r} has no node {name!r}; its nodes: {names}")

    def netns(self, node: str) -> str:
        return self.node(node)["namespace"]

    def is_live(self, node: str) -> bool:
        entry = self.node(node)
        return netns_inode(entry["namespace"]) == entry["inode"]

    def popen(self, node: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the node's namespace (an argv list, never a shell string)."""
        if isinstance(argv, str):
            raise TypeError("argv must be a list of arguments, not a shell string")
        entry = self.node(node)
        thread = namespace_thread()

        def spawn() -> subprocess.Popen[Any]:
            fd = os.open(netns_path(entry["namespace"]), os.O_RDONLY)
            try:
                if os.fstat(fd).st_ino != entry["inode"]:
                    raise RigNotFound(f"node {node!r} of rig {self.name!r} is gone (its namespace was removed)")
                setns(fd)
                try:
                    return subprocess.Popen(list(argv), **kwargs)
                finally:
                    thread.go_home()
            finally:
                os.close(fd)

        try:
            process = thread.call(spawn)
        except FileNotFoundError as exc:
            if exc.filename == netns_path(entry["namespace"]):
                raise RigNotFound(f"node {node!r} of rig {self.name!r} is gone (its namespace was removed)") from None
            raise
        if entry.get("cpu") is not None:
            cpu.join(cpu.rig_cgroup(self.name) / node, process.pid)  # a Pi-class share of the CPU
        return process

    def run(self, node: str, argv: Sequence[str], timeout: float | None = 60, check: bool = False,
            **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` in the node to completion, capturing text output by default."""
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        proc = self.popen(node, argv, **kwargs)
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        result = subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
        if check:
            result.check_returncode()
        return result


def _refuse_existing(plan: RigPlan) -> None:
    if st.read_state(plan.rig) is not None:
        raise RigConflict(f"rig {plan.rig!r} is already up; take it down first: testbed down --rig {plan.rig}")
    if st.read_journal(plan.rig).namespaces:
        raise RigConflict(f"rig {plan.rig!r} was left half-built by an interrupted run; "
                          f"remove the remains first: testbed down --rig {plan.rig}")
    present = set(list_netns())
    clashes = [ns.netns for ns in plan.namespaces if ns.netns in present]
    if clashes:
        raise RigConflict(f"namespace {clashes[0]} already exists"
                          f"{f' (and {len(clashes) - 1} more)' if len(clashes) > 1 else ''}; "
                          "if a crashed run left it, `testbed clean` removes what carries our tag")


def _build(plan: RigPlan, run_id: str, journal: st.Journal) -> dict[str, int]:
    """Runs on the namespace thread: namespaces, then veths, then per-namespace configuration."""
    thread = namespace_thread()
    sockets: dict[str, socket.socket] = {}
    fds: dict[str, int] = {}
    inodes: dict[str, int] = {}
    try:
        for ns in plan.namespaces:
            journal.write("intent", ns.netns)

            tag = ownership_tag(plan.rig, ns.node, run_id)

            def inside(sock: socket.socket, ns: NamespacePlan = ns, tag: str = tag) -> None:
                prepare(sock)
                batch = RtnlBatch(sock, f"node {ns.node}: ")
                batch.set_link(LOOPBACK_INDEX, "lo", up=True, alias=tag)
                batch.commit()
                if ns.forwarding:
                    write_sysctl("net.ipv4.ip_forward", "1")

            sockets[ns.node] = thread.create(ns.netns, tag, inside)
            fds[ns.node] = os.open(netns_path(ns.netns), os.O_RDONLY | os.O_CLOEXEC)
            inodes[ns.node] = os.fstat(fds[ns.node]).st_ino
            journal.write("created", ns.netns, inodes[ns.node])
        veths: dict[str, RtnlBatch] = {}
        for v in plan.veths:
            batch = veths.setdefault(v.a, RtnlBatch(sockets[v.a], f"link {v.link}: "))
            batch.add_veth(v.a_ifname, v.a_index, v.b_ifname, v.b_index, fds[v.b], v.mtu, (v.a_mac, v.b_mac))
        for batch in veths.values():
            batch.commit()
        for ns in plan.namespaces:
            batch = RtnlBatch(sockets[ns.node], f"node {ns.node}: ")
            for iface in ns.interfaces:
                batch.add_address(iface.index, iface.name, iface.address)
                batch.set_link(iface.index, iface.name, up=True, alias=link_tag(plan.rig, iface.link, run_id))
                batch.add_neighbour(iface.index, iface.name, iface.peer, iface.peer_mac)
            for route in ns.routes:
                batch.add_route(route.dst, route.gateway, ns.interface(route.dev).index, route.dev)
            batch.commit()
        return inodes
    finally:
        for sock in sockets.values():
            sock.close()
        for fd in fds.values():
            os.close(fd)


def _require_netem(topology: Topology, count: int) -> None:
    from ..host import kernel_supports_netem

    if not kernel_supports_netem():
        source = topology.source or "the topology"
        raise HostUnsuitable(
            f"{source} shapes {count} link directions with netem, but this kernel has no sch_netem. "
            f"Run it inside a VM with a stock kernel: testbed vm -- testbed up {source}   "
            "(or bring it up unshaped: testbed up --no-shaping)"
        )


def _require_netem_for(rig: str) -> None:
    from ..host import kernel_supports_netem

    if not kernel_supports_netem():
        raise HostUnsuitable(f"this kernel has no sch_netem, so rig {rig!r} cannot be shaped here; "
                             "run the rig inside a VM: testbed vm -- ...")


def _explain(exc: NetlinkBatchError, rig: str) -> TestbedError:
    codes = {f.errno for f in exc.failures}
    if codes & {errno.EOPNOTSUPP, errno.ENODEV} and any("veth" in f.request for f in exc.failures):
        return HostUnsuitable("the kernel cannot create veth pairs (CONFIG_VETH missing, or the veth module "
                              "is not loadable); `modprobe veth` or use a kernel with it")
    if errno.EPERM in codes:
        return HostUnsuitable("the kernel refused the rig's network setup (EPERM); run as root")
    lines = "\n".join(f"  {f}" for f in exc.failures[:10])
    more = f"\n  ... and {len(exc.failures) - 10} more" if len(exc.failures) > 10 else ""
    return RigSetupError(f"the kernel refused part of rig {rig!r}; nothing of it was left behind:\n{lines}{more}")


def _state_of(plan: RigPlan, run_id: str, inodes: dict[str, int], shaping: bool) -> dict[str, Any]:
    topo = plan.topology
    nodes = []
    for ns in plan.namespaces:
        nodes.append({
            "name": ns.node,
            "role": ns.role,
            "namespace": ns.netns,
            "inode": inodes[ns.node],
            "forwarding": ns.forwarding,
            "serial": topo.nodes[ns.node].serial,
            "cpu": topo.nodes[ns.node].cpu,
            "addresses": [str(i.address) for i in ns.interfaces],
            "interfaces": [{"name": i.name, "address": str(i.address), "link": i.link, "mac": i.mac,
                            "peer": str(i.peer), "peer_mac": i.peer_mac} for i in ns.interfaces],
            "routes": [{"dst": "default" if r.dst == DEFAULT else str(r.dst), "via": str(r.gateway), "dev": r.dev}
                       for r in ns.routes],
        })
    links = []
    for link in topo.links:
        assert link.addresses is not None
        links.append({
            "name": link.name,
            "endpoints": [str(e) for e in link.endpoints],
            "addresses": [str(a) for a in link.addresses],
            "via": link.via,
            "profile": link.profile,
            "up": topo.impairment(link, "up").as_dict(),
            "down": topo.impairment(link, "down").as_dict(),
            "shaped": shaping,
            "configured": {d: topo.impairment(link, d).as_dict() for d in shaper.DIRECTIONS},
        })
    return {
        "rig": plan.rig,
        "backend": "emulated",
        "run_id": run_id,
        "topology": os.path.abspath(topo.source) if topo.source and os.path.exists(topo.source) else topo.source,
        "created": st.now(),
        "nodes": nodes,
        "links": links,
    }


# --- teardown ----------------------------------------------------------------------------------

def down_rig(rig: str) -> DownReport:
    """Remove exactly what ``rig`` created, from its state file or, after a crash, its journal."""
    require_root("taking a rig down")
    check_rig_name(rig)
    if rig not in st.known_rigs():
        up = st.known_rigs()
        hint = f"rigs up: {', '.join(up)}" if up else "no rig is up"
        raise RigNotFound(f"rig {rig!r} is not up ({hint}); if a crashed run lost its run directory, "
                          f"`testbed clean --rig {rig}` finds what carries our tag")
    with st.rig_lock(rig, wait=True):
        return _remove_rig_objects(rig)


def _recorded_namespaces(rig: str) -> dict[str, int | None]:
    """Namespace name -> inode (None: intended, maybe never made), from the journal."""
    return dict(st.read_journal(rig).namespaces)


def _remove_rig_objects(rig: str) -> DownReport:
    """Caller holds the rig lock. Namespaces are matched by recorded inode, or by our tag."""
    report = DownReport(rig)
    owned: dict[str, int] = {}
    for name, inode in _recorded_namespaces(rig).items():
        current = netns_inode(name)
        if current is None:
            # A crash between creating the name and mounting the namespace on it.
            tag = parse_tag(placeholder_tag(name))
            if tag is not None and tag[0] == rig:
                remove_netns(name)
                report.namespaces.append(name)
            continue
        if inode is None:
            tag = parse_tag(_read_tag(name))
            if tag is None or tag[0] != rig:
                continue  # ours are tagged before they are mounted: this one is somebody else's
        elif current != inode:
            continue  # the name now belongs to a different namespace: not ours to remove
        owned[name] = current
    report.processes = stop_processes(set(owned.values()))
    for name in owned:
        remove_netns(name)
        report.namespaces.append(name)
    cpu.remove_rig(rig)
    st.forget_rig(rig)
    return report


def _read_tag(name: str) -> str | None:
    """The ownership tag on a namespace's loopback (None when untagged or unreadable)."""
    thread = namespace_thread()
    try:
        fd = os.open(netns_path(name), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        sock = prepare(thread.socket_in(fd))
    except OSError:
        os.close(fd)
        return None
    try:
        return link_alias(sock, LOOPBACK_INDEX)
    finally:
        sock.close()
        os.close(fd)


def clean(rig: str | None = None, dry_run: bool = False) -> CleanReport:
    """Remove every namespace of ours (of one rig, when given), with or without a run directory."""
    require_root("clean")
    if rig is not None:
        check_rig_name(rig)
    report = CleanReport()
    rigs = [r for r in st.known_rigs() if rig is None or r == rig]
    for name in rigs:
        if dry_run:
            names = sorted(n for n in _recorded_namespaces(name) if os.path.exists(netns_path(n)))
            report.removed.append(DownReport(name, names))
            continue
        with st.rig_lock(name, wait=True):
            report.removed.append(_remove_rig_objects(name))
    handled = {ns for r in report.removed for ns in r.namespaces}
    orphans: dict[str, DownReport] = {}
    for name in list_netns():
        if name in handled:
            continue
        mounted = netns_inode(name) is not None
        tag = parse_tag(_read_tag(name) if mounted else placeholder_tag(name))
        if tag is None:
            if name.startswith("tb-"):
                report.untouched.append(name)
            continue
        if rig is not None and tag[0] != rig:
            continue
        entry = orphans.setdefault(tag[0], DownReport(tag[0]))
        entry.namespaces.append(name)
    for name in cpu.rigs_with_cgroups():
        if (rig is None or name == rig) and name not in orphans and name not in rigs:
            orphans[name] = DownReport(name)
    for entry in orphans.values():
        if not dry_run:
            inodes = {netns_inode(n) for n in entry.namespaces} - {None}
            entry.processes = stop_processes({i for i in inodes if i is not None})
            for name in entry.namespaces:
                remove_netns(name)
            cpu.remove_rig(entry.rig)
        report.removed.append(entry)
    if not dry_run:
        st.drop_stale_locks(rig)
    return report
