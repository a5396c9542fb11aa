"""The API generations of QSAN arrays, in a module of its own: a client names its generation
before any answer is parsed, and the models (pydantic) load only when one is."""

from enum import StrEnum


class Api(StrEnum):
    """An API generation of QSAN arrays (each client's `api`)."""

    SANOS = "sanos"  # XCubeSAN's SANOS RESTful API
    XEVO = "xevo"  # QSAN's current REST API (XEVO firmware)
