"""Enrolment and revocation over the authenticated admin API, against a real node process:
signatures, freshness and replay, durability across a restart, and ``verify`` after revocation."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from ledger_support import serve_on_loopback

from devices.edge.ledger.admin import MAX_SKEW_NS, AdminClient, admin_headers
from devices.edge.ledger.node import Accepted, LedgerNode
from devices.edge.ledger.registry import Registry, Revocation
from devices.edge.ledger.store import LedgerStore
from devices.edge.ledger.verify import AuditFailure, audit
from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest

REPO = Path(__file__).resolve().parents[4]
SPEC = yaml.safe_load((REPO / "devices" / "edge" / "ledger" / "openapi.yaml").read_text())
ADMIN = PrivateKey(b"\xa1" * 32)
INTRUDER = PrivateKey(b"\xa2" * 32)
FILE_DEVICE = PrivateKey(b"\xa3" * 32)
NEW_DEVICE = PrivateKey(b"\xa4" * 32)


@dataclass
class Running:
    process: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=10) == 0


def _serve(tmp: Path) -> Running:
    process, url = serve_on_loopback(tmp, "--admin-key", str(tmp / "admin.vkey"))
    return Running(process, url)


@pytest.fixture()
def tmp(tmp_path: Path) -> Iterator[Path]:
    signer = Ed25519Signer("ledger.admin-test.example/log", PrivateKey(b"\xa0" * 32))
    (tmp_path / "node.key").write_text(signer.skey() + "\n")
    (tmp_path / "admin.vkey").write_text(Ed25519Signer("admin.example", ADMIN).verifier.vkey() + "\n")
    (tmp_path / "devices.json").write_text(json.dumps(
        {"devices": {"monitor-file": base64.b64encode(FILE_DEVICE.public_key.raw).decode()}}))
    yield tmp_path


def _post(client: AdminClient, key: PrivateKey, device: str, seq: int) -> tuple[int, dict[str, object]]:
    envelope = RecordEnvelope("vitals.ecg", device, seq, time.time_ns(), time.time_ns(), payload_digest(b"c"), 1)
    body = json.dumps({"record": base64.b64encode(envelope.sign(key).to_bytes()).decode()}).encode()
    return client.call("POST", "/v1/records", body, headers={})


def _valid(template: str, method: str, status: int, document: object) -> None:
    response = SPEC["paths"][template][method]["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": SPEC["components"]}).validate(document)


def test_enrol_and_revoke_need_a_fresh_admin_signature(tmp: Path) -> None:
    node = _serve(tmp)
    try:
        admin, intruder = AdminClient(node.url, ADMIN), AdminClient(node.url, INTRUDER)
        body = json.dumps({"device_id": "pump-9", "key": base64.b64encode(NEW_DEVICE.public_key.raw).decode()})
        path = "/v1/admin/devices"
        status, answer = admin.call("POST", path, body.encode(), headers={})
        assert status == 401 and "X-Ledger-Admin-Time" in str(answer["error"])
        _valid(path, "post", status, answer)
        status, answer = intruder.enrol("pump-9", NEW_DEVICE.public_key)
        assert status == 403 and "does not verify" in str(answer["error"])
        _valid(path, "post", status, answer)
        stale = admin_headers(ADMIN, "POST", path, body.encode(), time.time_ns() - MAX_SKEW_NS - 10**9)
        status, answer = admin.call("POST", path, body.encode(), headers=stale)
        assert status == 403 and "s off" in str(answer["error"])
        signed = admin_headers(ADMIN, "POST", path, body.encode())
        tampered = body.replace("pump-9", "pump-7").encode()
        assert admin.call("POST", path, tampered, headers=signed)[0] == 403  # the body hash is signed
        assert _post(admin, NEW_DEVICE, "pump-9", 1)[0] == 403  # nothing enrolled yet

        status, answer = admin.call("POST", path, body.encode(), headers=signed)
        assert (status, answer["created"]) == (201, True)
        _valid(path, "post", status, answer)
        status, answer = admin.call("POST", path, body.encode(), headers=signed)
        assert status == 403 and "replay" in str(answer["error"])
        assert admin.enrol("pump-9", NEW_DEVICE.public_key)[0] == 200  # same key again: idempotent
        status, answer = admin.enrol("pump-9", INTRUDER.public_key)
        assert status == 409 and "expected key" in str(answer["error"])
        assert admin.enrol("../x", NEW_DEVICE.public_key)[0] == 400

        assert _post(admin, NEW_DEVICE, "pump-9", 1)[0] == 201
        assert _post(admin, FILE_DEVICE, "monitor-file", 1)[0] == 201
        assert intruder.revoke("pump-9")[0] == 403
        assert admin.revoke("nobody")[0] == 404
        status, answer = admin.revoke("pump-9")
        assert (status, answer["revoked_at"]) == (200, 2)
        _valid("/v1/admin/devices/{id}", "delete", status, answer)
        status, answer = _post(admin, NEW_DEVICE, "pump-9", 2)
        assert status == 403 and str(answer["error"]).startswith("revoked")
        assert admin.revoke("pump-9")[1]["revoked_at"] == 2  # idempotent, the same point
        assert admin.enrol("pump-9", NEW_DEVICE.public_key)[0] == 409  # ids are never reused
        assert admin.revoke("monitor-file")[0] == 200  # a device from the file can be revoked too
        assert _post(admin, FILE_DEVICE, "monitor-file", 2)[0] == 403
    finally:
        node.stop()

    node = _serve(tmp)  # the enrolment database outlives the process
    try:
        admin = AdminClient(node.url, ADMIN)
        assert _post(admin, NEW_DEVICE, "pump-9", 3)[1]["error"].startswith("revoked")
        assert _post(admin, FILE_DEVICE, "monitor-file", 3)[1]["error"].startswith("revoked")
        body = json.dumps({"device_id": "pump-10", "key": base64.b64encode(NEW_DEVICE.public_key.raw).decode()})
        assert admin.call("POST", "/v1/admin/devices", body.encode())[0] == 201
        assert _post(admin, NEW_DEVICE, "pump-10", 1)[0] == 201
    finally:
        node.stop()

    check = subprocess.run([sys.executable, "-m", "devices.edge.ledger", "verify", str(tmp / "data"), "--devices",
                            str(tmp / "devices.json")], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 entries" in check.stdout and "3 devices" in check.stdout


def test_verify_refuses_a_revoked_devices_leaf_past_its_revocation_point(tmp: Path) -> None:
    node = _serve(tmp)
    try:
        admin = AdminClient(node.url, ADMIN)
        for seq in (1, 2):
            assert _post(admin, FILE_DEVICE, "monitor-file", seq)[0] == 201
    finally:
        node.stop()
    data = tmp / "data"
    block_key = Ed25519Signer("ledger.admin-test.example/log", PrivateKey(b"\xa0" * 32)).verifier.public_key
    audit(data / "ledger.db", block_key, {}, revoked={"monitor-file": Revocation(FILE_DEVICE.public_key, 2, 0)})
    with pytest.raises(AuditFailure, match="revoked device 'monitor-file' below its revocation point 1, got leaf 1"):
        audit(data / "ledger.db", block_key, {}, revoked={"monitor-file": Revocation(FILE_DEVICE.public_key, 1, 0)})


def test_revocation_point_covers_every_record_admitted_concurrently(tmp_path: Path) -> None:
    signer = Ed25519Signer("ledger.race-test.example/log", PrivateKey(b"\xa5" * 32))
    registry = Registry(tmp_path / "enrolment.db", {"racer": FILE_DEVICE.public_key})
    store = LedgerStore(tmp_path / "ledger.db", signer.private_key)
    node = LedgerNode(store, signer, {}, registry=registry)
    wires = [RecordEnvelope("vitals", "racer", seq, 1, 1, payload_digest(b"c"), 1).sign(FILE_DEVICE).to_bytes()
             for seq in range(1, 401)]
    with ThreadPoolExecutor(4) as pool:
        posted = [pool.submit(node.add_records, wires[n:n + 10]) for n in range(0, 400, 10)]
        time.sleep(0.01)
        revocation = node.revoke("racer")
        outcomes = [o for future in posted for o in future.result()]
    accepted = [o.index for o in outcomes if isinstance(o, Accepted)]
    assert accepted and max(accepted) < revocation.tree_size
    assert all(isinstance(o, Accepted) or o.code in ("revoked", "sequence") for o in outcomes)
    store.close()
    registry.close()
    audit(tmp_path / "ledger.db", signer.verifier.public_key, {}, revoked=registry.snapshot().revoked)
