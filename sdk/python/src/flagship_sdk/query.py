"""Typed reads of the api views: `view.list(where=..., order=..., limit=...)` or the
chainable `view.query().eq(...).order(...).limit(...).all()`.

`Row` is the view's generated dataclass and `Col` a Literal of its column names, so a
misspelt column is a type error before it is a PostgREST 400. Filters are PostgREST's
operators; each row comes back decoded into `Row`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from flagship_sdk import _codec
from flagship_sdk.errors import InvalidArgumentError

if TYPE_CHECKING:
    from flagship_sdk._transport import Transport

Row = TypeVar("Row")
Col = TypeVar("Col", bound=str)
Operator = Literal["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in"]
OPERATORS: tuple[str, ...] = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in")
MAX_LIMIT = 1000


class Query(Generic[Row, Col]):
    """One read of a view, built step by step; nothing is sent before `all`/`first`/`one`."""

    def __init__(self, view: View[Row, Col]) -> None:
        self._view = view
        self._filters: list[tuple[str, str, Any]] = []
        self._order: list[tuple[str, bool]] = []
        self._limit: int | None = None
        self._offset: int | None = None

    def where(self, column: Col, operator: Operator, value: Any) -> Query[Row, Col]:
        if operator not in OPERATORS:
            raise InvalidArgumentError("invalid_argument", f"unknown operator {operator!r}")
        self._view.check_column(column)
        self._filters.append((column, operator, value))
        return self

    def eq(self, column: Col, value: Any) -> Query[Row, Col]:
        return self.where(column, "eq", value)

    def neq(self, column: Col, value: Any) -> Query[Row, Col]:
        return self.where(column, "neq", value)

    def gt(self, column: Col, value: Any) -> Query[Row, Col]:
        return self.where(column, "gt", value)

    def gte(self, column: Col, value: Any) -> Query[Row, Col]:
        return self.where(column, "gte", value)

    def lt(self, column: Col, value: Any) -> Query[Row, Col]:
        return self.where(column, "lt", value)

    def lte(self, column: Col, value: Any) -> Query[Row, Col]:
        return self.where(column, "lte", value)

    def ilike(self, column: Col, pattern: str) -> Query[Row, Col]:
        return self.where(column, "ilike", pattern)

    def in_(self, column: Col, values: Iterable[Any]) -> Query[Row, Col]:
        return self.where(column, "in", list(values))

    def is_null(self, column: Col) -> Query[Row, Col]:
        return self.where(column, "is", None)

    def order(self, column: Col, *, desc: bool = False) -> Query[Row, Col]:
        self._view.check_column(column)
        self._order.append((column, desc))
        return self

    def limit(self, count: int) -> Query[Row, Col]:
        if not isinstance(count, int) or not 0 < count <= MAX_LIMIT:
            raise InvalidArgumentError(
                "invalid_argument", f"limit must be an integer in 1..{MAX_LIMIT}"
            )
        self._limit = count
        return self

    def offset(self, count: int) -> Query[Row, Col]:
        if not isinstance(count, int) or count < 0:
            raise InvalidArgumentError("invalid_argument", "offset must be an integer >= 0")
        self._offset = count
        return self

    def all(self) -> list[Row]:
        """Every matching row (at most `limit`), decoded."""
        return self._view.fetch(self, self._limit)

    def first(self) -> Row | None:
        """The first matching row, or None."""
        rows = self._view.fetch(self, 1)
        return rows[0] if rows else None

    def _build(self, builder: Any, limit: int | None) -> Any:
        for column, operator, value in self._filters:
            if operator == "in":
                builder = builder.in_(column, [_codec.encode(v) for v in value])
            elif operator == "is":
                builder = builder.is_(column, "null" if value is None else _codec.encode(value))
            else:
                builder = getattr(builder, operator)(column, _codec.encode(value))
        for column, desc in self._order:
            builder = builder.order(column, desc=desc)
        if self._offset is not None:
            end = self._offset + (limit or MAX_LIMIT) - 1
            builder = builder.range(self._offset, end)
        elif limit is not None:
            builder = builder.limit(limit)
        return builder


class View(Generic[Row, Col]):
    """An api view: `name` as PostgREST exposes it, rows decoded into `row`."""

    def __init__(
        self, transport: Transport, name: str, row: type[Row], columns: Sequence[str]
    ) -> None:
        self._t = transport
        self.name = name
        self.row = row
        self.columns = tuple(columns)

    def check_column(self, column: str) -> None:
        if column not in self.columns:
            raise InvalidArgumentError("invalid_argument", f"{self.name} has no column {column!r}")

    def query(self) -> Query[Row, Col]:
        return Query(self)

    def list(
        self,
        *,
        where: Mapping[Col, Any] | None = None,
        filters: Sequence[tuple[Col, Operator, Any]] = (),
        order: Sequence[Col | tuple[Col, Literal["asc", "desc"]]] = (),
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Row]:
        """Rows where each `where` column equals its value and each `(column, operator,
        value)` of `filters` holds, ordered by `order` (a column, or `(column, "desc")`)."""
        q = self.query()
        for column, value in (where or {}).items():
            q.eq(column, value)
        for column, operator, value in filters:
            q.where(column, operator, value)
        for item in order:
            column, direction = item if isinstance(item, tuple) else (item, "asc")
            if direction not in ("asc", "desc"):
                raise InvalidArgumentError("invalid_argument", "order is asc or desc")
            q.order(column, desc=direction == "desc")
        if limit is not None:
            q.limit(limit)
        if offset is not None:
            q.offset(offset)
        return q.all()

    def fetch(self, query: Query[Row, Col], limit: int | None) -> list[Row]:
        select = ",".join(self.columns) or "*"
        response = self._t.run(
            lambda: query._build(self._t.supabase.table(self.name).select(select), limit)
        )
        return _codec.decode(list[self.row], response.data)  # type: ignore[name-defined]
