"""Records as JSON: the dataclasses of domain/models.py to text and back, for every store."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


def encode(obj: Any) -> str:
    return json.dumps(dataclasses.asdict(obj), separators=(",", ":"))


def _coerce(hint: Any, value: Any) -> Any:
    """Turn a JSON value back into the type a dataclass field declares (enums, tuples)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        real = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _coerce(real[0], value) if len(real) == 1 else value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_coerce(item, element) for element in value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return decode_dict(hint, value)
    return value


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """Resolved field annotations; resolving them per row would dominate start-up."""
    return typing.get_type_hints(cls)


def decode_dict(cls: type[T], data: dict[str, Any]) -> T:
    hints = _field_types(typing.cast(type, cls))
    return cls(**{name: _coerce(hints[name], value) for name, value in data.items()})


def decode(cls: type[T], text: str) -> T:
    return decode_dict(cls, json.loads(text))
