"""Record kinds: the table's names (and the sensor's ``vitals.<signal>``) pass, unknown kinds,
oversized payloads and foreign pointers are refused with 400, an unknown kind with the list."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.edge.ledger.kinds import KINDS, known_kinds
from devices.edge.ledger.node import Accepted, LedgerNode, Refused
from devices.edge.ledger.service import _refused
from devices.edge.ledger.store import LedgerStore
from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest

DEVICE = PrivateKey(b"\xb1" * 32)
DIGEST = payload_digest(b"ciphertext")


@pytest.fixture()
def node(tmp_path: Path) -> Iterator[LedgerNode]:
    signer = Ed25519Signer("ledger.kinds-test.example/log", PrivateKey(b"\xb0" * 32))
    store = LedgerStore(tmp_path / "ledger.db", signer.private_key)
    yield LedgerNode(store, signer, {"dev-1": DEVICE.public_key})
    store.close()


class Seq:
    n = 0


def _wire(kind: str, size: int = 10, pointer: str = "") -> bytes:
    Seq.n += 1
    envelope = RecordEnvelope(kind, "dev-1", Seq.n, time.time_ns(), time.time_ns(), DIGEST, size, pointer)
    return envelope.sign(DEVICE).to_bytes()


def test_every_kind_in_the_table_and_sensor_vitals_are_accepted(node: LedgerNode) -> None:
    kinds = [*KINDS, "vitals.ecg", "vitals.nibp", "vitals.spo2"]
    outcomes = node.add_records([_wire(kind) for kind in kinds])
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    assert {"observation", "emr.document", "rx.prescription", "trace.drug", "waste.device", "vitals"} <= set(KINDS)


def test_unknown_kinds_are_refused_with_the_list_of_known_ones(node: LedgerNode) -> None:
    for kind in ("emr", "vitals.", "vitals.ecg.extra", "trace.drug.x", "misc"):
        (outcome,) = node.add_records([_wire(kind)])
        assert isinstance(outcome, Refused) and outcome.status == 400 and outcome.code == "unknown_kind", kind
        assert repr(kind) in outcome.reason and "rx.prescription" in outcome.reason
        assert _refused(outcome)["kinds"] == known_kinds()


def test_payload_size_limit_is_per_kind(node: LedgerNode) -> None:
    limit = KINDS["trace.drug"].max_payload
    assert isinstance(node.add_records([_wire("trace.drug", limit)])[0], Accepted)
    (outcome,) = node.add_records([_wire("trace.drug", limit + 1)])
    assert isinstance(outcome, Refused) and outcome.code == "too_large"
    assert f"expected at most {limit} bytes, got {limit + 1}" in outcome.reason
    assert isinstance(node.add_records([_wire("emr.document", limit + 1)])[0], Accepted)


def test_pointer_format(node: LedgerNode) -> None:
    good = [("vitals.ecg", f"sha256:{DIGEST.hex()}"), ("vitals", f"edge-1/v1/payloads/{DIGEST.hex()}"),
            ("emr.document", "https://archive.hospital.example/docs/42"), ("rx.prescription", "ipfs://bafy123")]
    for kind, pointer in good:
        assert isinstance(node.add_records([_wire(kind, pointer=pointer)])[0], Accepted), (kind, pointer)
    bad = [("vitals", f"sha256:{'0' * 64}"), ("trace.drug", "https://example.org/x"), ("waste.device", "x y"),
           ("emr.document", "ftp://example.org/doc")]
    for kind, pointer in bad:
        (outcome,) = node.add_records([_wire(kind, pointer=pointer)])
        assert isinstance(outcome, Refused) and outcome.code == "bad_pointer", (kind, pointer)
