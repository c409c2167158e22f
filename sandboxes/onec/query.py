"""The OData v3 query options the 1C sandbox answers: a ``$filter`` subset, ``$orderby``, ``$select``.

``$filter`` grammar (what 1C's standard interface takes and our connector sends):
``or``/``and``/``not``, parentheses, ``eq ne gt ge lt le``, properties (``Ref_Key``, ``Поставщик``),
literals ``guid'…'``, ``datetime'2024-01-01T00:00:00'``, ``'text'`` (``''`` escapes a quote), numbers,
``true``/``false``/``null``. Anything else is a ``QueryError`` (1C answers those with a 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

TOKEN = re.compile(r"""
    \s*(?:
      (?P<lit>(?:guid|datetime)'[^']*')
    | (?P<str>'(?:[^']|'')*')
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<paren>[()])
    | (?P<word>[^\W\d][\w/]*)
    )""", re.VERBOSE | re.UNICODE)
COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
           "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}
MISSING = object()


class QueryError(ValueError):
    """A query option the sandbox (like 1C) cannot parse: answered with a 400 odata.error."""


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Синтаксическая ошибка в $filter в позиции {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "lit":
        return text[text.index("'") + 1:-1].lower() if text.startswith("guid") else text[text.index("'") + 1:-1]
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "num":
        return float(text)
    return {"true": True, "false": False, "null": None}[text]


class Parser:
    def __init__(self, text: str, fields: set[str]):
        self.toks = tokens(text)
        self.pos = 0
        self.fields = fields

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise QueryError("Неожиданный конец выражения $filter")
        self.pos += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.disjunction()
        if self.peek() is not None:
            raise QueryError(f"Лишняя лексема в $filter: {self.peek()[1]}")
        return pred

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == ("word", "or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.peek() == ("word", "and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def unary(self) -> Predicate:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.unary()
            return lambda row: not inner(row)
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("paren", ")"):
                raise QueryError("Ожидалась закрывающая скобка в $filter")
            return inner
        return self.comparison()

    def operand(self) -> Callable[[Row], Any]:
        kind, text = self.take()
        if kind == "word" and text not in ("true", "false", "null"):
            if text not in self.fields:
                raise QueryError(f"Свойство '{text}' не найдено")
            return lambda row: _norm(row.get(text, MISSING))
        if kind == "paren":
            raise QueryError("Ожидался операнд в $filter")
        value = _literal(kind, text)
        return lambda row: value

    def comparison(self) -> Predicate:
        left = self.operand()
        kind, op = self.take()
        if kind != "word" or op not in COMPARE:
            raise QueryError(f"Неизвестная операция '{op}' в $filter")
        right = self.operand()
        compare = COMPARE[op]

        def pred(row: Row) -> bool:
            a, b = left(row), right(row)
            if a is MISSING or b is MISSING:
                return False
            try:
                return bool(compare(a, b))
            except TypeError:
                return False

        return pred


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None or value is MISSING:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value.lower() if len(value) == 36 and value.count("-") == 4 else value
    return value


def compile_filter(text: str, fields: set[str]) -> Predicate:
    return Parser(text, fields).parse()


def order_key(spec: str, fields: set[str]) -> tuple[Callable[[Row], Any], bool]:
    """``$orderby=Field [asc|desc]`` (one field: the connector orders by ``Ref_Key`` only)."""
    parts = spec.split()
    if not parts or len(parts) > 2 or parts[0] not in fields or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
        raise QueryError(f"Неверное значение параметра $orderby: {spec}")
    name = parts[0]
    return (lambda row: (str(row.get(name, "")))), len(parts) == 2 and parts[1] == "desc"


def select(rows: list[Row], spec: str, fields: set[str]) -> list[Row]:
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in fields and n != "*"]
    if unknown:
        raise QueryError(f"Свойство '{unknown[0]}' не найдено")
    if "*" in names:
        return rows
    return [{n: row[n] for n in names if n in row} for row in rows]
