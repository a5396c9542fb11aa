"""QSAN's current REST API (XEVO firmware), served beside SANOS's by the same application.

The same declared Endpoints (api/endpoint.py, api=Api.XEVO) go through the same door: the
same authentication and roles (api/app.py), the same ArrayService operations, rules and
events. What differs is the wire: IDs in the path, JSON bodies (request.py, wire.py) and QSAN's
error codes (errors.py). docs/xevo.md maps each object to SANOS's.
"""

from __future__ import annotations

from opensan.api.endpoint import Endpoint
from opensan.api.xevo import account, auth, backup, nas, storage, system, transfer
from opensan.api.xevo.openapi import operation

__all__ = ["ENDPOINTS", "operation"]

ENDPOINTS: list[Endpoint] = [*auth.ENDPOINTS, *system.ENDPOINTS, *storage.ENDPOINTS,
                              *backup.ENDPOINTS, *transfer.ENDPOINTS,
                              *account.ENDPOINTS, *nas.ENDPOINTS]
