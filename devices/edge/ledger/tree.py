"""Which Merkle hashes the ledger stores, where, and which of them a proof needs.

The store keeps the hash of every *complete* subtree of the log: each leaf (level 0) and,
at level L, one node per aligned block of 2**L leaves once that block is full. Nothing else
is ever stored, so nothing stored ever changes. Hashes are numbered in post order, the order
in which appends complete them; a log of n leaves has exactly ``2n - popcount(n)`` of them,
and appending only ever adds rows at the end.

An RFC 9162 proof element is the hash of a run of leaves. Inside the tree that run is a
complete subtree (one stored hash); on the right edge it is a short run of complete
subtrees, folded right to left. Either way a proof costs O(log n) stored hashes, read
in one query, whatever the log's length. The writer keeps only the *frontier* (one hash per
set bit of the size) in memory, so memory does not grow with the log either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from devices.wire.merkle import EMPTY_ROOT, node_hash

Range = tuple[int, int]  # leaves [start, end)
Node = tuple[int, int]  # (level, index): leaves [index * 2**level, (index + 1) * 2**level)


def stored_count(size: int) -> int:
    """How many hashes a log of ``size`` leaves stores."""
    return 2 * size - size.bit_count()


def stored_id(level: int, index: int) -> int:
    """Post-order number of a complete subtree: stored right after its last leaf and children."""
    last_leaf = ((index + 1) << level) - 1
    return stored_count(last_leaf) + level


def subtrees(start: int, end: int) -> list[Node]:
    """The largest aligned complete subtrees covering leaves [start, end), left to right."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _split(size: int) -> int:
    """RFC 9162's k: the largest power of two strictly below ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Leaf runs whose hashes make the inclusion proof of ``index`` (RFC 9162 PATH), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index: expected 0 <= index < {size}, got {index}")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append((mid, hi))
            hi = mid
        else:
            path.append((lo, mid))
            lo = mid
    return path[::-1]


def consistency_ranges(first: int, second: int) -> list[Range]:
    """Leaf runs whose hashes make the consistency proof first → second (RFC 9162 PROOF)."""
    if not 0 < first <= second:
        raise ValueError(f"sizes: expected 0 < first <= second, got {first} and {second}")
    path: list[Range] = []
    lo, hi, whole_old_tree = 0, second, True
    while first != hi:
        mid = lo + _split(hi - lo)
        if first <= mid:
            path.append((mid, hi))
            hi = mid
        else:
            path.append((lo, mid))
            lo, whole_old_tree = mid, False
    if not whole_old_tree:
        path.append((lo, hi))  # the old tree's last subtree; a verifier cannot know it otherwise
    return path[::-1]


def range_hashes(ranges: Iterable[Range], read: Callable[[list[int]], Mapping[int, bytes]]) -> list[bytes]:
    """Hashes of leaf runs, with every stored hash they need fetched by one ``read`` call."""
    pieces = [subtrees(start, end) for start, end in ranges]
    wanted = sorted({stored_id(*node) for piece in pieces for node in piece})
    found = read(wanted) if wanted else {}
    hashes = []
    for piece in pieces:
        value = found[stored_id(*piece[-1])]
        for node in reversed(piece[:-1]):
            value = node_hash(found[stored_id(*node)], value)
        hashes.append(value)
    return hashes


@dataclass(frozen=True)
class Frontier:
    """The complete subtrees covering [0, size), largest first: all an appender needs."""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value

    def extend(self, leaf_hashes: Iterable[bytes]) -> tuple[Frontier, list[bytes]]:
        """The frontier after appending, and the new stored hashes in post order (= id order)."""
        stack, size, created = list(self.hashes), self.size, []
        for value in leaf_hashes:
            created.append(value)
            level = 0
            while size >> level & 1:  # a block of 2**level just filled up: merge it
                value = node_hash(stack.pop(), value)
                created.append(value)
                level += 1
            stack.append(value)
            size += 1
        return Frontier(size, tuple(stack)), created
