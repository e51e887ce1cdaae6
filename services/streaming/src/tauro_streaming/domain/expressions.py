"""A safe mini expression language for ``map`` computed fields.

Grammar (a strict subset of Python expression syntax, parsed with :mod:`ast`, never ``eval``):

* numbers, strings, ``True``/``False``/``None``;
* field references: a bare name (``price``) or ``field("any key")`` for keys that are not
  identifiers (dotted paths such as ``field("user.id")`` reach into nested objects);
* ``+ - * /`` and unary ``-``/``+``; ``+`` on two strings concatenates;
* ``lower(x)``, ``upper(x)``, ``str(x)``, and the method forms ``x.lower()``, ``x.upper()``.

Everything else (other operators, comparisons, subscripts, attributes, other calls, keyword
arguments, lambdas, f-strings, dunder names) is refused at compile time with
:class:`ExpressionError`. Evaluation errors (missing field, wrong type, division by zero) raise
:class:`~tauro_streaming.domain.errors.ProcessorError`, which dead-letters the record.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tauro_streaming.domain.errors import ProcessorError
from tauro_streaming.domain.records import MISSING, Record, get_field, is_number, json_type

MAX_LENGTH = 1000
MAX_DEPTH = 32

Evaluator = Callable[[Record], Any]


class ExpressionError(ValueError):
    """The expression text is not in the language (raised when a definition is validated)."""


def _lower(value: Any) -> Any:
    if not isinstance(value, str):
        raise ProcessorError(f"lower() needs a string, got {json_type(value)}")
    return value.lower()


def _upper(value: Any) -> Any:
    if not isinstance(value, str):
        raise ProcessorError(f"upper() needs a string, got {json_type(value)}")
    return value.upper()


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if is_number(value):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


FUNCTIONS: dict[str, Callable[[Any], Any]] = {"lower": _lower, "upper": _upper, "str": _to_str}
METHODS: dict[str, Callable[[Any], Any]] = {"lower": _lower, "upper": _upper}


def _number_operands(symbol: str, left: Any, right: Any) -> None:
    if not (is_number(left) and is_number(right)):
        raise ProcessorError(f"cannot apply '{symbol}' to {json_type(left)} and {json_type(right)}")


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    _number_operands("+", left, right)
    return left + right


def _sub(left: Any, right: Any) -> Any:
    _number_operands("-", left, right)
    return left - right


def _mul(left: Any, right: Any) -> Any:
    _number_operands("*", left, right)
    return left * right


def _div(left: Any, right: Any) -> Any:
    _number_operands("/", left, right)
    if right == 0:
        raise ProcessorError("division by zero")
    return left / right


BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _add, ast.Sub: _sub, ast.Mult: _mul, ast.Div: _div,
}


def _neg(value: Any) -> Any:
    if not is_number(value):
        raise ProcessorError(f"cannot negate {json_type(value)}")
    return -value


def _pos(value: Any) -> Any:
    if not is_number(value):
        raise ProcessorError(f"cannot apply unary '+' to {json_type(value)}")
    return value


UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: _neg, ast.UAdd: _pos}


def _field_reader(path: str) -> Evaluator:
    def read(record: Record) -> Any:
        value = get_field(record, path)
        if value is MISSING:
            raise ProcessorError(f"field '{path}' is missing")
        return value

    return read


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``evaluate(record)`` computes its value for one record."""

    source: str
    fields: frozenset[str]
    _run: Evaluator

    def evaluate(self, record: Record) -> Any:
        return self._run(record)


class _Compiler:
    def __init__(self) -> None:
        self.fields: set[str] = set()

    def compile(self, node: ast.AST, depth: int = 0) -> Evaluator:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp):
            return self._binary(node, depth)
        if isinstance(node, ast.UnaryOp):
            op = UNARY.get(type(node.op))
            if op is None:
                raise ExpressionError(f"operator '{type(node.op).__name__}' is not allowed")
            operand = self.compile(node.operand, depth + 1)
            return lambda record: op(operand(record))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Attribute):
            raise ExpressionError(f"attribute '.{node.attr}' is not allowed (only x.lower() and x.upper())")
        raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")

    @staticmethod
    def _constant(value: Any) -> Evaluator:
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ExpressionError(f"constant {value!r} is not allowed")
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError("non-finite numbers are not allowed")
        return lambda record: value

    def _name(self, name: str) -> Evaluator:
        if name.startswith("__"):
            raise ExpressionError(f"name '{name}' is not allowed")
        if name in FUNCTIONS or name == "field":
            raise ExpressionError(f"'{name}' is a function; call it, e.g. {name}(...)")
        self.fields.add(name)
        return _field_reader(name)

    def _binary(self, node: ast.BinOp, depth: int) -> Evaluator:
        op = BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator '{type(node.op).__name__}' is not allowed (only + - * /)")
        left, right = self.compile(node.left, depth + 1), self.compile(node.right, depth + 1)
        return lambda record: op(left(record), right(record))

    def _call(self, node: ast.Call, depth: int) -> Evaluator:
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ExpressionError("* arguments are not allowed")
        func = node.func
        if isinstance(func, ast.Attribute):
            method = METHODS.get(func.attr)
            if method is None:
                raise ExpressionError(f"method '.{func.attr}()' is not allowed (only .lower() and .upper())")
            if node.args:
                raise ExpressionError(f".{func.attr}() takes no arguments")
            target = self.compile(func.value, depth + 1)
            return lambda record: method(target(record))
        if not isinstance(func, ast.Name):
            raise ExpressionError("only lower(), upper(), str() and field() can be called")
        if func.id == "field":
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) \
                    or not isinstance(node.args[0].value, str) or not node.args[0].value:
                raise ExpressionError('field() takes one non-empty string literal, e.g. field("user id")')
            path = node.args[0].value
            self.fields.add(path)
            return _field_reader(path)
        function = FUNCTIONS.get(func.id)
        if function is None:
            raise ExpressionError(f"function '{func.id}' is not allowed (only lower, upper, str, field)")
        if len(node.args) != 1:
            raise ExpressionError(f"{func.id}() takes exactly one argument")
        argument = self.compile(node.args[0], depth + 1)
        return lambda record: function(argument(record))


def compile_expression(source: str) -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` if it leaves the language."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression must be a non-empty string")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("expression cannot be parsed") from None
    compiler = _Compiler()
    run = compiler.compile(tree.body)
    return Expression(source=source, fields=frozenset(compiler.fields), _run=run)
