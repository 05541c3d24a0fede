"""Per-direction netem on a rig's links: applied at bring-up, changed live, read back.

A link's "up" direction leaves its first endpoint, "down" its second; netem shapes egress,
so each direction is a root netem qdisc on the sending end's veth. Every change is checked
against what the kernel then reports: netem keeps some parameters across a ``change``
(corrupt, reorder, ECN, slots, rate) when they are merely left out, so a change that drops
one of them rebuilds the qdisc instead, and any remaining difference is an error rather than
a silent drift between what the test believes and what the link does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..topology.model import Direction, Impairment
from .netem import effective, netem_args
from .tc import ShapingError, TcLine, impairment_from_tc, run_batch, show_root_qdisc

DIRECTIONS: tuple[Direction, Direction] = ("up", "down")
#: Fields tc does not report back (the distribution table is loaded but never dumped).
UNREPORTED = frozenset({"distribution"})


@dataclass(frozen=True)
class LinkEnd:
    """Where one direction of a link is shaped: the sending end."""

    link: str
    direction: Direction
    netns: str
    ifname: str

    @property
    def what(self) -> str:
        return f"link {self.link} ({self.direction})"


def link_ends(state: dict, link: str) -> dict[Direction, LinkEnd]:
    """The sending end of each direction of ``link``, from a rig's state."""
    entry = next((lk for lk in state["links"] if lk["name"] == link), None)
    if entry is None:
        from ..errors import RigNotFound

        names = ", ".join(lk["name"] for lk in state["links"])
        raise RigNotFound(f"rig {state['rig']!r} has no link {link!r}; its links: {names}")
    namespaces = {n["name"]: n["namespace"] for n in state["nodes"]}
    (a, a_if), (b, b_if) = (end.split(":", 1) for end in entry["endpoints"])
    return {"up": LinkEnd(link, "up", namespaces[a], a_if), "down": LinkEnd(link, "down", namespaces[b], b_if)}


def initial_lines(end: LinkEnd, imp: Impairment) -> list[TcLine]:
    """Lines that put ``imp`` on a fresh interface (nothing when it asks for nothing)."""
    if imp.is_empty():
        return []
    args = ("qdisc", "add", "dev", end.ifname, "root", "handle", "1:", "netem", *netem_args(effective(imp)))
    return [TcLine(args, end.what)]


def apply_initial(ends_and_impairments: Iterable[tuple[LinkEnd, Impairment]]) -> None:
    """Bring-up: over netlink what pyroute2 can encode, the rest in one tc batch per namespace."""
    from .netlink import encodable, send_netem

    per_ns: dict[str, list[TcLine]] = {}
    for end, imp in ends_and_impairments:
        if not imp.is_empty() and encodable(effective(imp), None):
            send_netem(end.netns, end.ifname, effective(imp), end.what, create=True)
        else:
            per_ns.setdefault(end.netns, []).extend(initial_lines(end, imp))
    for netns, lines in per_ns.items():
        run_batch(netns, lines)


def read(end: LinkEnd) -> Impairment | None:
    """What the kernel's qdisc on this end does now (None: not shaped by netem)."""
    return impairment_from_tc(show_root_qdisc(end.netns, end.ifname))


UNKNOWN = object()  # "the caller has not read the kernel"


def change(end: LinkEnd, imp: Impairment, previous: Impairment | None = None,
           known: Impairment | None | object = UNKNOWN) -> Impairment | None:
    """Make the kernel do ``imp`` on this end; return what it then reports (verified).

    ``previous`` is what was applied before (the distribution table the kernel holds cannot
    be read back, so the caller says which it is); it decides whether netlink may be used.
    ``known`` is the kernel's state as the caller last read it back, which saves a read; if
    something else changed the qdisc meanwhile, the check after the change notices and the
    change is made again from a fresh read.
    """
    if known is not UNKNOWN:
        try:
            return _change(end, imp, previous, known)  # type: ignore[arg-type]
        except ShapingError:
            pass
    return _change(end, imp, previous, read(end))


def _change(end: LinkEnd, imp: Impairment, previous: Impairment | None,
            current: Impairment | None) -> Impairment | None:
    from .netlink import send_netem

    wanted = None if imp.is_empty() else effective(imp)
    path = plan_change(current, wanted, previous)
    if path == "tc-del":
        run_batch(end.netns, [TcLine(("qdisc", "del", "dev", end.ifname, "root"), end.what)])
    elif path in ("netlink-add", "netlink-change"):
        assert wanted is not None
        send_netem(end.netns, end.ifname, wanted, end.what, create=path == "netlink-add")
    elif wanted is not None:
        netem = ("root", "handle", "1:", "netem", *netem_args(wanted))
        lines = {
            "tc-add": [TcLine(("qdisc", "add", "dev", end.ifname, *netem), end.what)],
            "tc-rebuild": [TcLine(("qdisc", "del", "dev", end.ifname, "root"), end.what),
                           TcLine(("qdisc", "add", "dev", end.ifname, *netem), end.what)],
            "tc-change": [TcLine(("qdisc", "change", "dev", end.ifname, *netem), end.what)],
        }[path]
        run_batch(end.netns, lines)
    now = read(end)
    differences = mismatches(wanted, now)
    if differences:
        raise ShapingError(f"{end.what}: the kernel holds something other than what was set: "
                           + "; ".join(differences))
    return now


def plan_change(current: Impairment | None, wanted: Impairment | None, previous: Impairment | None) -> str:
    """How to get from ``current`` (read back) to ``wanted`` (effective): the cheapest way
    that leaves nothing of the old qdisc behind. One of tc-del, netlink-add, tc-add,
    tc-rebuild, netlink-change, tc-change, or none."""
    from .netlink import encodable

    if wanted is None:
        return "tc-del" if current is not None else "none"
    if current is None:
        return "netlink-add" if encodable(wanted, None) else "tc-add"
    if _drops_sticky(current, wanted):
        return "tc-rebuild"
    loaded = _table(effective(previous)) if previous is not None and not previous.is_empty() else None
    return "netlink-change" if encodable(wanted, loaded) else "tc-change"


def _table(imp: Impairment) -> str | None:
    """The delay distribution table the tc path loaded for ``imp`` (uniform needs none)."""
    return imp.distribution if imp.jitter is not None and imp.distribution not in (None, "uniform") else None


#: Parameters netem keeps when a change leaves them out; dropping one needs a new qdisc.
_STICKY = ("corrupt", "reorder", "ecn", "slot", "rate", "gemodel", "duplicate")


def _drops_sticky(current: Impairment, wanted: Impairment) -> bool:
    return any(getattr(current, name) is not None and getattr(wanted, name) is None for name in _STICKY)


def mismatches(wanted: Impairment | None, got: Impairment | None) -> list[str]:
    """Human-readable differences between what was set and what the kernel reports."""
    if wanted is None or got is None:
        return [] if wanted == got else [f"expected {'no qdisc' if wanted is None else 'netem'}, "
                                         f"found {'no qdisc' if got is None else 'netem'}"]
    found = []
    for f in dataclasses.fields(Impairment):
        if f.name in UNREPORTED:
            continue
        a, b = getattr(wanted, f.name), getattr(got, f.name)
        if not _same(a, b):
            found.append(f"{f.name.replace('_', '-')}: set {_show(a)}, kernel has {_show(b)}")
    return found


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    if hasattr(a, "us") and hasattr(b, "us"):
        # netlink carries times in scheduler ticks; 7.5 ms can come back as 7.499 ms
        return math.isclose(a.us, b.us, rel_tol=1e-4, abs_tol=1.0)
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    numbers = [_number(x) for x in (a, b)]
    if None not in numbers:
        x, y = numbers
        return math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-6)  # type: ignore[arg-type]
    return a == b


def _number(value: object) -> float | None:
    for attr in ("us", "value", "bps"):
        if hasattr(value, attr):
            return float(getattr(value, attr))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _show(value: object) -> str:
    return "nothing" if value is None else str(value)


__all__ = ["DIRECTIONS", "LinkEnd", "ShapingError", "apply_initial", "change", "link_ends", "mismatches", "read"]
