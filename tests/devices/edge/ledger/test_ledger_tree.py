"""Stored-hash numbering, subtree decomposition and proof plans, against the RFC's definitions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from devices.edge.ledger.tree import (
    Frontier,
    consistency_ranges,
    inclusion_ranges,
    range_hashes,
    stored_count,
    stored_id,
    subtrees,
)
from devices.wire import merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(b"leaf %d" % i) for i in range(n)]


def _all_complete_subtrees(size: int) -> dict[tuple[int, int], bytes]:
    """Every complete subtree of a log, hashed the slow way: (level, index) -> hash."""
    leaves, found, level = _leaves(size), {}, 0
    while (1 << level) <= size:
        for index in range(size >> level):
            chunk = leaves[index << level:(index + 1) << level]
            found[(level, index)] = merkle.root_from_leaf_hashes(chunk)
        level += 1
    return found


def test_frontier_creates_hashes_in_stored_id_order_and_nothing_else() -> None:
    for size in range(0, 80):
        frontier, created = Frontier().extend(_leaves(size))
        expected = _all_complete_subtrees(size)
        assert len(created) == stored_count(size) == len(expected)
        by_id = {stored_id(*node): value for node, value in expected.items()}
        assert sorted(by_id) == list(range(stored_count(size)))
        assert created == [by_id[i] for i in range(stored_count(size))]
        assert frontier.root() == merkle.root_from_leaf_hashes(_leaves(size))


def test_frontier_extends_the_same_in_any_batching() -> None:
    leaves = _leaves(100)
    whole, created_whole = Frontier().extend(leaves)
    step, created_steps = Frontier(), []
    for start, end in ((0, 1), (1, 2), (2, 7), (7, 64), (64, 65), (65, 100)):
        step, created = step.extend(leaves[start:end])
        created_steps += created
    assert step == whole and created_steps == created_whole


@pytest.mark.parametrize(("start", "end"), [(0, 0), (0, 1), (0, 13), (5, 6), (4, 13), (8, 16), (6, 100), (96, 100)])
def test_subtrees_cover_the_range_with_aligned_complete_blocks(start: int, end: int) -> None:
    covered: list[int] = []
    for level, index in subtrees(start, end):
        covered += range(index << level, (index + 1) << level)
    assert covered == list(range(start, end))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 9, 13, 16, 17, 33, 64, 65])
def test_proof_plans_give_the_rfc_proofs(size: int, rfc: SimpleNamespace) -> None:
    leaves = _leaves(size)
    stored = {stored_id(*node): value for node, value in _all_complete_subtrees(size).items()}

    def read(ids: list[int]) -> dict[int, bytes]:
        return {i: stored[i] for i in ids}

    for index in range(size):
        assert range_hashes(inclusion_ranges(index, size), read) == rfc.path(index, leaves)
    for first in range(1, size + 1):
        assert range_hashes(consistency_ranges(first, size), read) == rfc.proof(first, leaves)
    assert range_hashes([(0, size)], read) == [rfc.mth(leaves)]


def test_plans_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError, match="0 <= index < 4"):
        inclusion_ranges(4, 4)
    with pytest.raises(ValueError, match="0 < first <= second"):
        consistency_ranges(0, 4)


def test_a_proof_needs_logarithmically_many_stored_hashes() -> None:
    size = 10_000_000
    for index in (0, 1, size // 2, size - 2, size - 1):
        ids = {stored_id(*node) for start, end in inclusion_ranges(index, size) for node in subtrees(start, end)}
        assert len(ids) <= 2 * size.bit_length()
    for first in (1, 3, size // 3, size - 1):
        ids = {stored_id(*node) for start, end in consistency_ranges(first, size) for node in subtrees(start, end)}
        assert len(ids) <= 2 * size.bit_length()
