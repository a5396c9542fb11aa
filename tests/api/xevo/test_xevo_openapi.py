"""The OpenAPI description of XEVO's operations: every listed endpoint, its path parameters,
its request body, its security, and QSAN's error body for the statuses XEVO answers."""

from __future__ import annotations

import re

from conftest import Api

from opensan.api.xevo import ENDPOINTS
from opensan.api.xevo.errors import QSAN_CODES, Generation

PUBLIC = {("POST", "/auth/get"), ("POST", "/auth/refresh"), ("GET", "/rest/v1/about")}


def test_every_xevo_endpoint_is_described(admin: Api) -> None:
    doc = admin.ok("GET", "/openapi.json")
    described = {(method.upper(), path): op for path, methods in doc["paths"].items()
                 for method, op in methods.items() if op["tags"] == ["XEVO"]}
    declared = {(e.method, prefix): e for e in ENDPOINTS for prefix in (e.prefix, *e.aliases)}
    assert set(described) == set(declared)
    for (method, path), op in described.items():
        endpoint = declared[(method, path)]
        assert {p["name"] for p in op["parameters"]} == set(re.findall(r"\{(\w+)\}", path))
        assert all(p["in"] == "path" and p["required"] for p in op["parameters"])
        assert op["security"] == ([] if (method, path) in PUBLIC
                                  else [{"token": []}, {"session": []}]), path
        assert ("requestBody" in op) == (endpoint.body is not None), path
        errors = {int(s) for s in op["responses"] if s != "200"}
        assert {q.of(Generation.V1)[1] for q in QSAN_CODES.values()} | {401, 404} <= errors
        for status in errors:
            schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)


def test_a_body_is_described_with_qsans_names(admin: Api) -> None:
    doc = admin.ok("GET", "/openapi.json")
    create = doc["paths"]["/rest/v2/storage/block/volumes"]["post"]["requestBody"]
    schema = create["content"]["application/json"]["schema"]
    assert {"name", "totalSize", "blockSize", "poolId"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    login = doc["paths"]["/auth/get"]["post"]["requestBody"]["content"]
    assert set(login) == {"application/x-www-form-urlencoded"}
