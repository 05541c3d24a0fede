"""The record kinds the ledger accepts, each with what the chain can check about it.

Payloads are encrypted off-chain (AES-GCM by the device), so the node cannot check their
content; the table's ``content`` text is the off-chain contract (medical-data.md), kept here
so one place names it. On chain the node checks what the envelope shows: the kind name, the
payload size against the kind's limit, and the pointer's format.

Pointer formats: empty (the payload is in the edge store under ``payload_hash``, the default),
a content-addressed locator ending in the lowercase hex of ``payload_hash`` (``sha256:<hex>``,
``edge-1/v1/payloads/<hex>``), or, for kinds held elsewhere (EMR documents in a hospital
archive, prescriptions in a national service), an ``https://`` or ``ipfs://`` locator.

``vitals`` and ``vitals.<signal>`` (``vitals.ecg``, ``vitals.nibp``: devices/sensor) are one
kind family; every other kind is matched exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devices.wire import RecordEnvelope

KIB, MIB = 1024, 1024 * 1024
_SIGNAL = re.compile(r"[a-z][a-z0-9_-]{0,24}")
_LOCAL = re.compile(r"[A-Za-z0-9._:/-]{0,200}[0-9a-f]{64}")
_REMOTE = re.compile(r"(https|ipfs)://[^\s]{1,1000}")


@dataclass(frozen=True)
class RecordKind:
    """One accepted kind: its name, the payload size range, and the off-chain content contract."""

    name: str
    max_payload: int
    remote_pointer: bool
    content: str


KINDS: dict[str, RecordKind] = {kind.name: kind for kind in (
    RecordKind("vitals", 1 * MIB, False,
               "vital-sign batch from a bedside or wearable sensor: FHIR Observation(s) with LOINC codes "
               "(8867-4 heart rate, 59408-5 SpO2, 85354-9 blood pressure, 8310-5 temperature, ECG samples); "
               "also vitals.<signal>"),
    RecordKind("observation", 256 * KIB, False, "one FHIR Observation (LOINC-coded) not from a vitals stream"),
    RecordKind("emr.document", 16 * MIB, True, "EMR document: FHIR DocumentReference / Composition, or a PDF"),
    RecordKind("rx.prescription", 64 * KIB, True,
               "e-prescription: FHIR MedicationRequest (prescriber, patient ref, medication code, dosage)"),
    RecordKind("trace.drug", 16 * KIB, False,
               "drug traceability event: GTIN, batch/lot, serial, expiry, EPCIS-like event type and location"),
    RecordKind("waste.device", 16 * KIB, False,
               "medical-device waste event: device UDI, waste category, custody handover, disposal site"),
)}


class KindRefused(ValueError):
    """The envelope's kind, payload size or pointer is not acceptable; answered with 400."""


def kind_of(name: str) -> RecordKind | None:
    """The table entry governing ``name`` (``vitals.<signal>`` falls under ``vitals``)."""
    found = KINDS.get(name)
    if found is None and name.startswith("vitals.") and _SIGNAL.fullmatch(name[len("vitals."):]):
        found = KINDS["vitals"]
    return found


def check_kind(envelope: RecordEnvelope) -> None:
    """Raise :class:`KindRefused` unless the envelope passes its kind's on-chain checks.

    The message starts with the refusal code (``unknown_kind``, ``too_large``, ``bad_pointer``)
    and a colon; metrics count refusals by it.
    """
    kind = kind_of(envelope.kind)
    if kind is None:
        raise KindRefused(f"unknown_kind: expected one of {', '.join(known_kinds())}, got {envelope.kind!r}")
    if envelope.payload_size > kind.max_payload:
        raise KindRefused(f"too_large: {envelope.kind} payload: expected at most {kind.max_payload} bytes, "
                          f"got {envelope.payload_size}")
    pointer = envelope.pointer
    local = pointer.endswith(envelope.payload_hash.hex()) and _LOCAL.fullmatch(pointer) is not None
    remote = kind.remote_pointer and _REMOTE.fullmatch(pointer) is not None
    if pointer and not (local or remote):
        allowed = "empty, a locator ending in the payload_hash hex" + (
            ", https:// or ipfs://" if kind.remote_pointer else "")
        raise KindRefused(f"bad_pointer: {envelope.kind} pointer: expected {allowed}, got {pointer[:80]!r}")


def known_kinds() -> list[str]:
    """The names a refusal lists, ``vitals.<signal>`` included."""
    return [*KINDS, "vitals.<signal>"]
