"""Records as JSON: the dataclasses of domain/models.py to text and back, for every store.

Start-up decodes every record (262,144 snapshots at an XCubeSAN's full scale), so each class's
decoder is worked out once from its field types (_decoder) instead of per value, and the small
nested records every snapshot or volume carries (mostly their defaults) are shared, not made
again for each: they are frozen, so one instance serves them all. Strings are interned, so a
state or a name many records carry is held once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")
Convert = Callable[[Any], Any]
# At most this many distinct nested records are shared per class (the defaults and a few
# settings in practice); past it they are decoded each time, so the table stays small.
_SHARED_MAX = 1024


def encode(obj: Any) -> str:
    return json.dumps(dataclasses.asdict(obj), separators=(",", ":"))


def _converter(hint: Any) -> Convert | None:
    """How a JSON value becomes the type a dataclass field declares (enums, tuples, nested
    records); None where the JSON value already is it. None stays None for every type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        real = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _converter(real[0]) if len(real) == 1 else None
    if origin is tuple:
        item = _converter(typing.get_args(hint)[0])
        if item is None:
            return lambda value: None if value is None else tuple(value)
        return lambda value: None if value is None else tuple(item(e) for e in value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        enum: type[Enum] = hint
        return lambda value: None if value is None else enum(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _shared_decoder(hint)
    if hint is str:  # names and states repeat across records: one string each in memory
        return lambda value: None if value is None else sys.intern(value)
    return None


@functools.cache
def _decoder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """A function from a record's JSON dict to the record; resolving the field types per row
    would dominate start-up."""
    hints = typing.get_type_hints(cls)
    converters = {name: _converter(hint) for name, hint in hints.items()}
    converting = {name: convert for name, convert in converters.items() if convert is not None}

    def decode_one(data: dict[str, Any]) -> Any:
        for name in converting.keys() & data.keys():
            data[name] = converting[name](data[name])
        return cls(**data)

    return decode_one


def _shared_decoder(cls: type) -> Convert:
    """The decoder of a nested record that hands out one instance per distinct value."""
    decode_one = _decoder(cls)
    shared: dict[tuple[tuple[str, Any], ...], Any] = {}

    def decode_nested(value: Any) -> Any:
        if value is None:
            return None
        try:
            key = tuple(value.items())
            found = shared.get(key)
        except TypeError:  # a nested list or dict: not hashable, so not shared
            return decode_one(value)
        if found is None:
            found = decode_one(value)
            if len(shared) < _SHARED_MAX:
                shared[key] = found
        return found

    return decode_nested


def decode(cls: type[T], text: str) -> T:
    return typing.cast(T, _decoder(typing.cast(type, cls))(json.loads(text)))
