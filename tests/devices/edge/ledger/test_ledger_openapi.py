"""openapi.yaml stays true: it lists exactly the routes the server answers, and real answers
from a real node process validate against its schemas (JSON Schema 2020-12, as OpenAPI 3.1)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from ledger_support import port_of, serve_on_loopback

from devices.edge.ledger.service import ROUTES
from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest

REPO = Path(__file__).resolve().parents[4]
SPEC = yaml.safe_load((REPO / "devices" / "edge" / "ledger" / "openapi.yaml").read_text())
DEVICE = PrivateKey(b"\x71" * 32)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             ) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body, headers or {})
            answer = conn.getresponse()
            return answer.status, answer.getheader("Content-Type", ""), answer.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("openapi")
    signer = Ed25519Signer("ledger.openapi-test.example/log", PrivateKey(b"\x70" * 32))
    (tmp / "node.key").write_text(signer.skey() + "\n")
    (tmp / "devices.json").write_text(json.dumps(
        {"devices": {"monitor-1": base64.b64encode(DEVICE.public_key.raw).decode()}}))
    process, url = serve_on_loopback(tmp)
    yield Client(port_of(url))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def _record(seq: int) -> str:
    envelope = RecordEnvelope("vitals", "monitor-1", seq, time.time_ns(), time.time_ns(), payload_digest(b"p"), 1)
    return base64.b64encode(envelope.sign(DEVICE).to_bytes()).decode()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _validate(schema: dict[str, Any], document: object) -> None:
    Draft202012Validator({**schema, "components": SPEC["components"]}).validate(document)


def _check(template: str, method: str, answer: tuple[int, str, bytes]) -> None:
    """The answer's status is documented for the route, and its body fits the documented schema."""
    status, content_type, body = answer
    responses = SPEC["paths"][template][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {template}: status {status} is not documented: {body[:200]!r}"
    content = _resolve(responses[str(status)])["content"]
    media = content_type.split(";")[0]
    assert media in content, f"{method} {template} {status}: content type {media} not documented"
    schema = content[media]["schema"]
    if media == "application/json":
        _validate(schema, json.loads(body))
    elif media == "text/plain":
        _validate(schema, body.decode())


def test_the_spec_lists_exactly_the_routes_the_server_answers(node: Client) -> None:
    assert SPEC["openapi"] == "3.1.0"
    Draft202012Validator.check_schema({"$defs": SPEC["components"]["schemas"]})
    documented = {(method.upper(), path) for path, item in SPEC["paths"].items() for method in item
                  if method in METHODS}
    assert documented == set(ROUTES)
    for method, template in sorted(ROUTES):  # each is really served: no "no route" answer
        path = template.replace("{height}", "0").replace("{hash}", "0" * 64)
        status, _, body = node.call(method, path)
        assert not (status == 404 and b"no route" in body), (method, template, body)
    for method, path in [("GET", "/v1/blocks"), ("GET", "/v1/blocks/0/x"), ("POST", "/v1/entries"),
                         ("PUT", "/v1/records"), ("GET", "/v2/health")]:
        status, _, body = node.call(method, path)
        assert status == 404 and b"no route" in body, (method, path)


def test_real_answers_validate_against_the_schemas(node: Client) -> None:
    records = "/v1/records"
    single = {"record": _record(1)}
    _validate(_resolve(SPEC["paths"][records]["post"]["requestBody"]["content"]["application/json"]["schema"]),
              single)
    answer = node.call("POST", records, json.dumps(single).encode())
    assert answer[0] == 201
    _check(records, "POST", answer)
    _check(records, "POST", node.call("POST", records, json.dumps({"records": [_record(2), _record(3)]}).encode()))
    mixed = node.call("POST", records, json.dumps({"records": [_record(4), _record(2), "!!"]}).encode())
    assert mixed[0] == 400  # one undecodable item fails the whole request before anything is appended
    _check(records, "POST", mixed)
    mixed = node.call("POST", records, json.dumps({"records": [_record(4), _record(2)]}).encode())
    assert mixed[0] == 207 and json.loads(mixed[2])["results"][1]["last_seq"] == 4
    _check(records, "POST", mixed)
    replay = node.call("POST", records, json.dumps({"record": _record(4)}).encode())
    assert replay[0] == 409 and json.loads(replay[2])["last_seq"] == 4
    _check(records, "POST", replay)

    _check("/v1/blocks/{height}", "GET", node.call("GET", "/v1/blocks/0"))
    _check("/v1/blocks/{height}", "GET", node.call("GET", "/v1/blocks/99"))
    body = b"encrypted bytes"
    name = hashlib.sha256(body).hexdigest()
    payload = "/v1/payloads/{hash}"
    _check(payload, "PUT", node.call("PUT", f"/v1/payloads/{name}", body))
    _check(payload, "PUT", node.call("PUT", f"/v1/payloads/{name}", body))
    _check(payload, "PUT", node.call("PUT", f"/v1/payloads/{name}", b"other"))
    _check(payload, "GET", node.call("GET", f"/v1/payloads/{name}"))
    _check(payload, "GET", node.call("GET", f"/v1/payloads/{'1' * 64}"))
    _check("/v1/checkpoint", "GET", node.call("GET", "/v1/checkpoint"))
    _check("/v1/proof/inclusion", "GET", node.call("GET", "/v1/proof/inclusion?index=1&tree_size=4"))
    _check("/v1/proof/consistency", "GET", node.call("GET", "/v1/proof/consistency?first=1&second=4"))
    _check("/v1/proof/consistency", "GET", node.call("GET", "/v1/proof/consistency?first=5&second=4"))
    _check("/v1/entries", "GET", node.call("GET", "/v1/entries?start=0&end=4"))
    _check("/v1/health", "GET", node.call("GET", "/v1/health"))
