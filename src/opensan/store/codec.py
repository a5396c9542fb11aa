"""Records as JSON: the dataclasses of domain/models.py to text and back, for every store.

Start-up decodes every record (262,144 snapshots at an XCubeSAN's full scale). msgspec builds
each record straight from its text, typed by its dataclass, in about a fifth of the time that
json.loads and the dataclass's __init__ take. Then the strings of the record's own fields are
interned and its nested records (mostly their defaults) shared with equal ones decoded before:
frozen, so one instance serves them all, and a state or a name that many records carry is held
once (without it the snapshots take twice the memory).

A record msgspec refuses (a value of another type than its field declares: the dataclasses
never checked what an earlier release wrote) is decoded leniently, as before msgspec: every
JSON value kept as it is, only enums, tuples and nested records made from it (_lenient).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import sys
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")
Convert = Callable[[Any], Any]
# At most this many distinct nested records are shared per class (the defaults and a few
# settings in practice); past it they are decoded each time, so the table stays small.
_SHARED_MAX = 1024


_ENCODER = msgspec.json.Encoder()


def encode(obj: Any) -> str:
    """A record's text: what json.dumps(dataclasses.asdict(obj)) writes (the fields in their
    order, enums by value), written by msgspec straight from the record, some 30 times faster."""
    return _ENCODER.encode(obj).decode()


def decode(cls: type[T], text: str) -> T:
    return decoder(cls)(text)


def _is_str(hint: Any) -> bool:
    """str, or str | None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return set(typing.get_args(hint)) == {str, type(None)}
    return hint is str


def _nested_record(hint: Any) -> bool:
    """A dataclass, or a dataclass | None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        real = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return len(real) == 1 and _nested_record(real[0])
    return dataclasses.is_dataclass(hint) and isinstance(hint, type)


def decoder(cls: type[T]) -> Callable[[str], T]:
    """A function from a record's text to the record (made once per class)."""
    return typing.cast(Callable[[str], T], _typed(typing.cast(type, cls)))


@functools.cache
def _typed(cls: type) -> Callable[[str], Any]:
    """msgspec's typed decoder, then the record's own string fields interned and its nested
    records shared."""
    # strict=False: 3.0 for an int field (the lenient decoding took it as it was, too)
    typed: msgspec.json.Decoder[Any] = msgspec.json.Decoder(cls, strict=False)
    hints = typing.get_type_hints(cls)
    strings = tuple(name for name, hint in hints.items() if _is_str(hint))
    nested = tuple((name, _sharing(hint)) for name, hint in hints.items() if _nested_record(hint))
    lenient = _lenient(cls)
    # The record is new and nobody holds it yet: setting a field of the frozen dataclass here
    # is what its own __init__ does.
    set_field = object.__setattr__
    intern = sys.intern

    def decode_one(text: str) -> Any:
        try:
            record = typed.decode(text)
        except msgspec.ValidationError:
            return lenient(json.loads(text))
        for name in strings:
            value = getattr(record, name)
            if value is not None:
                set_field(record, name, intern(value))
        for name, share in nested:
            value = getattr(record, name)
            if value is not None:
                set_field(record, name, share(value))
        return record

    return decode_one


def _sharing(hint: Any) -> Callable[[Any], Any]:
    """For a nested record's field: a function that answers an equal record decoded before,
    else the record itself. Equal is judged on the tuple of its fields (C's hash and
    comparison, not the dataclass's Python ones)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
    fields_of = operator.attrgetter(*(field.name for field in dataclasses.fields(hint)))
    shared: dict[Any, Any] = {}

    def share(record: Any) -> Any:
        key = fields_of(record)
        try:
            found = shared.get(key)
        except TypeError:  # holds a list or a dict: not hashable, so not shared
            return record
        if found is not None:
            return found
        if len(shared) < _SHARED_MAX:
            shared[key] = record
        return record

    return share


# The lenient decoding: of a record msgspec refuses


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
        return _lenient_nested(hint)
    if hint is str:  # names and states repeat across records: one string each in memory
        return lambda value: None if value is None else sys.intern(value)
    return None


@functools.cache
def _lenient(cls: type) -> Callable[[dict[str, Any]], Any]:
    """A function from a record's JSON dict to the record, leniently (the field types resolved
    once, not per row)."""
    hints = typing.get_type_hints(cls)
    converters = {name: _converter(hint) for name, hint in hints.items()}
    converting = {name: convert for name, convert in converters.items() if convert is not None}

    def decode_one(data: dict[str, Any]) -> Any:
        for name in converting.keys() & data.keys():
            data[name] = converting[name](data[name])
        return cls(**data)

    return decode_one


def _lenient_nested(cls: type) -> Convert:
    """The decoder of a nested record that hands out one instance per distinct value."""
    decode_one = _lenient(cls)
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
