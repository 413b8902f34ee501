"""JSON ↔ the typed models: decode answers into dataclasses by their type hints, encode
arguments (UUIDs, datetimes, dataclasses) into JSON values.

The generated models are plain frozen dataclasses whose annotations say the JSON Schema's
types (UUID for `format: uuid`, datetime for `date-time`, nested dataclasses for objects);
one generic decoder reads those annotations, so the generated code holds no parsing logic.
A field whose JSON key is not a Python name carries it in `metadata["json"]`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from flagship_sdk.errors import ResponseShapeError

T = TypeVar("T")
NoneType = type(None)


@cache
def _fields(cls: type) -> tuple[tuple[str, str, Any, bool], ...]:
    """(attribute, JSON key, type, required) of a model's fields."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append((f.name, f.metadata.get("json", f.name), hints[f.name], required))
    return tuple(out)


def decode(tp: Any, value: Any, where: str = "$", *, strict: bool = False) -> Any:
    """`value` (parsed JSON) as an instance of `tp`; ResponseShapeError when it does not fit.

    Outside unions a Literal keeps a value it does not list (a newer server's enum value);
    inside one (`strict`) the Literal is what tells the members apart, so it must match."""
    if tp is Any or tp is object:
        return value
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None:
            if NoneType in args:
                return None
            _fail(where, tp, value)
        errors = []
        members = [a for a in args if a is not NoneType]
        for arg in members:
            try:
                return decode(arg, value, where, strict=strict or len(members) > 1)
            except ResponseShapeError as exc:
                errors.append(exc)
        raise errors[0] if errors else _fail(where, tp, value)
    if value is None:
        _fail(where, tp, value)
    if origin is Literal:
        if strict and value not in get_args(tp):
            _fail(where, tp, value)
        return value
    if origin is list:
        if not isinstance(value, list):
            _fail(where, tp, value)
        (item,) = get_args(tp) or (Any,)
        return [decode(item, v, f"{where}[{i}]", strict=strict) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            _fail(where, tp, value)
        _, item = get_args(tp) or (str, Any)
        return {k: decode(item, v, f"{where}.{k}", strict=strict) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _decode_model(tp, value, where, strict)
    return _decode_scalar(tp, value, where)


def _decode_model(cls: type[T], value: Any, where: str, strict: bool) -> T:
    if not isinstance(value, Mapping):
        _fail(where, cls, value)
    kwargs = {}
    for name, key, tp, required in _fields(cls):
        if key in value:
            kwargs[name] = decode(tp, value[key], f"{where}.{key}", strict=strict)
        elif required:
            raise ResponseShapeError(
                "response_shape", f"{where}: missing {key!r} for {cls.__name__}"
            )
    return cls(**kwargs)


def _decode_scalar(tp: Any, value: Any, where: str) -> Any:
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif tp is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        elif tp is str:
            if isinstance(value, str):
                return value
        elif tp is uuid.UUID:
            return uuid.UUID(value)
        elif tp is dt.datetime:
            return dt.datetime.fromisoformat(value)
        elif tp is dt.date:
            return dt.date.fromisoformat(value)
    except (TypeError, ValueError, AttributeError):
        pass
    _fail(where, tp, value)


def _fail(where: str, tp: Any, value: Any) -> typing.NoReturn:
    name = getattr(tp, "__name__", None) or str(tp)
    raise ResponseShapeError(
        "response_shape", f"{where}: expected {name}, got {type(value).__name__}"
    )


def encode(value: Any) -> Any:
    """A JSON value for an argument: UUIDs and datetimes as text, models as objects."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds()} seconds"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.metadata.get("json", f.name): encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    return value
