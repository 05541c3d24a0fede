"""RFC 9162 Merkle tree hashing and proof verification (Certificate Transparency 2.0, §2.1).

Pure functions over bytes, shared by the ledger node (which builds proofs) and every client
that checks them. The verifiers follow the RFC walks (§2.1.3.2 inclusion, §2.1.4.2
consistency) and refuse, each with its own exception, what trips simpler implementations
(shared/docs/reference/ledger.md §2.4):

- any hash, root or proof element that is not exactly 32 bytes (an empty leaf hash and an
  empty root would otherwise "match" on a one-leaf tree);
- a leaf index at or beyond the tree size, a consistency proof from size 0 (even 0 → 0:
  it proves nothing) and a first size above the second;
- a proof with hashes left over or missing: its length is fixed by the tree shape, so it is
  checked up front, which is what the RFC's ``sn == 0`` conditions amount to;
- a non-empty proof between two equal sizes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from .errors import HashSizeError, IndexOutOfRange, ProofLengthError, RootMismatch, TreeSizeError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}): the root of the empty tree

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the prefix keeps a leaf from passing for an interior node."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a whole log, streaming: memory holds one hash per level, not the leaves.

    Complete subtrees are merged as soon as two of equal size meet; what is left at the
    end (sizes strictly decreasing, one per set bit of the tree size) folds right to left,
    which is exactly RFC 9162's split at the largest power of two below the size.
    """
    stack: list[tuple[int, bytes]] = []  # (leaf count, hash) of complete subtrees
    for value in leaf_hashes:
        _check_hash("leaf hash", value)
        count, current = 1, value
        while stack and stack[-1][0] == count:
            count, current = count * 2, node_hash(stack.pop()[1], current)
        stack.append((count, current))
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_proof_size(index: int, tree_size: int) -> int:
    """How many hashes an inclusion proof for leaf ``index`` in a tree of ``tree_size`` has.

    Below the level where the paths to ``index`` and to the last leaf part, every level has
    a sibling; above it, only the levels where ``index`` is a right child do.
    """
    _check_index(index, tree_size)
    inner = (index ^ (tree_size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_size(size1: int, size2: int) -> int:
    """How many hashes a consistency proof from ``size1`` to ``size2`` has (0 when equal)."""
    _check_sizes(size1, size2)
    if size1 == size2:
        return 0
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    shift = (size1 & -size1).bit_length() - 1  # levels the old tree's last subtree spans
    count = inner - shift + ((size1 - 1) >> inner).bit_count()
    return count if size1 == 1 << shift else count + 1  # a power of two is its own seed


def root_from_inclusion_proof(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes] | None) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` (RFC 9162 §2.1.3.2)."""
    _check_index(index, tree_size)
    _check_hash("leaf hash", leaf_hash)
    path = _check_proof(proof, inclusion_proof_size(index, tree_size), f"leaf {index} in a tree of {tree_size}")
    fn, sn = index, tree_size - 1
    root = leaf_hash
    for sibling in path:
        if fn & 1 or fn == sn:
            root = node_hash(sibling, root)
            while fn and not fn & 1:  # on the right border: climb levels with no right sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            root = node_hash(root, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # unreachable when the length check above holds; it is the RFC's own condition
        raise ProofLengthError(f"inclusion proof for leaf {index} in a tree of {tree_size} ended early")
    return root


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes] | None,
                     root: bytes) -> None:
    """Raise unless ``proof`` shows ``leaf_hash`` at ``index`` in the tree with ``root``."""
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    if computed != root:
        raise RootMismatch(f"inclusion proof for leaf {index} in a tree of {tree_size}: "
                           f"expected root {root.hex()}, proof gives {computed.hex()}")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes] | None) -> None:
    """Raise unless ``proof`` shows the tree (size1, root1) is a prefix of (size2, root2).

    RFC 9162 §2.1.4.2, with equal sizes handled first: their proof is empty and their
    roots must be equal.
    """
    _check_sizes(size1, size2)
    _check_hash("first root", root1)
    _check_hash("second root", root2)
    where = f"from size {size1} to {size2}"
    path = _check_proof(proof, consistency_proof_size(size1, size2), where)
    if size1 == size2:
        if root1 != root2:
            raise RootMismatch(f"equal sizes {size1} must have equal roots: first root "
                               f"{root1.hex()}, second root {root2.hex()}")
        return
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]  # the old tree is a complete subtree: its root is the seed
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for node in path[1:]:
        if fn & 1 or fn == sn:
            first, second = node_hash(node, first), node_hash(node, second)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # unreachable when the length check holds; kept as the RFC states it
        raise ProofLengthError(f"consistency proof {where} ended early")
    if first != root1:
        raise RootMismatch(f"consistency proof {where}: expected first root {root1.hex()}, "
                           f"proof gives {first.hex()}")
    if second != root2:
        raise RootMismatch(f"consistency proof {where}: expected second root {root2.hex()}, "
                           f"proof gives {second.hex()}")


def _check_hash(what: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise HashSizeError(f"{what}: expected {HASH_SIZE} bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise HashSizeError(f"{what}: expected {HASH_SIZE} bytes, got {len(value)}")


def _check_count(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}: expected an int, got {type(value).__name__}")
    return value


def _check_index(index: int, tree_size: int) -> None:
    _check_count("leaf index", index)
    _check_count("tree size", tree_size)
    if tree_size < 0:
        raise IndexOutOfRange(f"tree size: expected >= 0, got {tree_size}")
    if not 0 <= index < tree_size:
        raise IndexOutOfRange(f"leaf index: expected 0 <= index < {tree_size} (the tree size), got {index}")


def _check_sizes(size1: int, size2: int) -> None:
    _check_count("first size", size1)
    _check_count("second size", size2)
    if size1 <= 0:
        raise TreeSizeError(f"first size: expected >= 1 (a proof from an empty tree proves nothing), got {size1}")
    if size1 > size2:
        raise TreeSizeError(f"first size must not exceed the second: got {size1} > {size2}")


def _check_proof(proof: Sequence[bytes] | None, expected: int, where: str) -> list[bytes]:
    path = list(proof or ())
    if len(path) != expected:
        raise ProofLengthError(f"proof for {where}: expected {expected} hashes, got {len(path)}")
    for position, value in enumerate(path):
        _check_hash(f"proof[{position}]", value)
    return path
