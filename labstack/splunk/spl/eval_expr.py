"""Eval expressions (``eval``, ``where``) compiled to Python closures over a row.

Values are str, int, float, list (multivalue) or None (null); booleans only inside
expressions. Comparisons are case-sensitive, numeric when both sides are numbers.

>>> compile_eval("if(x > 2, upper(y) . \\"!\\", null())", "eval")({"x": "3", "y": "hi"}, None)
'HI!'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import SPLError
from .functions import COMPARATORS, FUNCTIONS, as_number, compare, truth
from .lexer import read_quoted
from .relation import to_text

Evaluator = Callable[[dict, Any], Any]
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|[=<>+\-*/%.(),])|(?P<quote>[\"'])|(?P<bad>\S))"
)


def _tokenize(text: str, command: str) -> list[tuple[str, Any]]:
    tokens, i = [], 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if not match or match.end() == i:
            break
        kind = match.lastgroup
        if kind == "bad":
            raise _malformed(
                command, f"An unexpected character is reached at '{match.group(kind)}'."
            )
        if kind == "quote":
            start = match.start(kind)
            if match.group(kind) == '"':
                value, i = read_quoted(text, start)
                tokens.append(("str", value))
            else:
                end = text.find("'", start + 1)
                if end < 0:
                    raise SPLError("Unbalanced quotes.")
                tokens.append(("field", text[start + 1 : end]))
                i = end + 1
            continue
        value = match.group(kind)
        if kind == "num":
            value = float(value) if "." in value or "e" in value.lower() else int(value)
        tokens.append((kind, value))
        i = match.end()
    return tokens


def _malformed(command: str, detail: str) -> SPLError:
    return SPLError.in_command(command, f"The expression is malformed. {detail}")


def _arith(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if op == ".":
        return f"{to_text(a)}{to_text(b)}"
    x, y = as_number(a), as_number(b)
    if x is None or y is None:
        return f"{a}{b}" if op == "+" and isinstance(a, str) and isinstance(b, str) else None
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        return None
    return x / y if op == "/" else x % y


@dataclass(frozen=True)
class Node:
    """An eval expression, parsed: ``kind`` is lit, field, call, arith, compare, logic, not
    or neg; ``value`` the literal, field name, function name or operator; ``args`` operands."""

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()


class _Parser:
    def __init__(self, text: str, command: str):
        self.command = command
        self.tokens = _tokenize(text, command)
        self.i = 0

    def peek(self, kind: str | None = None, *values: str) -> bool:
        if self.i >= len(self.tokens):
            return False
        k, v = self.tokens[self.i]
        if kind == "kw":
            return k == "name" and v.upper() in values
        return (kind is None or k == kind) and (not values or v in values)

    def take(self) -> tuple[str, Any]:
        if self.i >= len(self.tokens):
            raise _malformed(self.command, "Expected more input.")
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, value: str) -> None:
        if not self.peek("op", value):
            raise _malformed(self.command, f"Expected {value}.")
        self.i += 1

    def parse(self) -> Node:
        expr = self.disjunction()
        if self.i < len(self.tokens):
            raise _malformed(
                self.command, f"An unexpected character is reached at '{self.tokens[self.i][1]}'."
            )
        return expr

    def disjunction(self) -> Node:
        left = self.conjunction()
        while self.peek("kw", "OR", "XOR"):
            word = self.take()[1].upper()
            left = Node("logic", word, (left, self.conjunction()))
        return left

    def conjunction(self) -> Node:
        left = self.negation()
        while self.peek("kw", "AND"):
            self.take()
            left = Node("logic", "AND", (left, self.negation()))
        return left

    def negation(self) -> Node:
        if self.peek("kw", "NOT"):
            self.take()
            return Node("not", None, (self.negation(),))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        if self.peek("op", *COMPARATORS):
            op = self.take()[1]
            return Node("compare", op, (left, self.additive()))
        if self.peek("kw", "LIKE"):
            self.take()
            return self.call("like", [left, self.additive()])
        if self.peek("kw", "IN"):
            self.take()
            self.expect("(")
            return self.call("in", [left, *self.arguments()])
        return left

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.peek("op", "+", "-", "."):
            left = Node("arith", self.take()[1], (left, self.multiplicative()))
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.peek("op", "*", "/", "%"):
            left = Node("arith", self.take()[1], (left, self.unary()))
        return left

    def unary(self) -> Node:
        if self.peek("op", "-"):
            self.take()
            return Node("neg", None, (self.unary(),))
        return self.primary()

    def arguments(self) -> list[Node]:
        args = []
        if self.peek("op", ")"):
            self.take()
            return args
        while True:
            args.append(self.disjunction())
            if self.peek("op", ")"):
                self.take()
                return args
            self.expect(",")

    def primary(self) -> Node:
        kind, value = self.take()
        if kind in ("num", "str"):
            return Node("lit", value)
        if kind == "field":
            return Node("field", value)
        if kind == "op" and value == "(":
            inner = self.disjunction()
            self.expect(")")
            return inner
        if kind == "name":
            if self.peek("op", "("):
                self.take()
                return self.call(value, self.arguments())
            return Node("field", value)
        raise _malformed(self.command, f"An unexpected character is reached at '{value}'.")

    def call(self, name: str, args: list[Node]) -> Node:
        spec = FUNCTIONS.get(name.lower())
        if spec is None:
            raise SPLError.in_command(
                self.command, f"The '{name}' function is unsupported or undefined."
            )
        if not spec.min_args <= len(args) <= spec.max_args:
            raise SPLError.in_command(
                self.command, f"The arguments to the '{name}' function are invalid."
            )
        if spec.lazy and len(fields_of(Node("call", name, tuple(args)))) != 1:
            raise SPLError.in_command(
                self.command, f"The '{name}' function requires exactly one field in its argument."
            )
        return Node("call", name.lower(), tuple(args))


def fields_of(node: Node) -> set[str]:
    """The field names an expression reads."""
    if node.kind == "field":
        return {node.value}
    return set().union(*(fields_of(a) for a in node.args)) if node.args else set()


def to_python(node: Node, command: str = "eval") -> Evaluator:
    """The expression as a closure ``fn(row, env) -> value`` (the Python path)."""
    kind, value = node.kind, node.value
    if kind == "lit":
        return lambda row, env: value
    if kind == "field":
        return lambda row, env: row.get(value)
    args = [to_python(a, command) for a in node.args]
    if kind == "logic":
        return {"AND": _and, "OR": _or, "XOR": _xor}[value](*args)
    if kind == "not":
        inner = args[0]
        return lambda row, env: None if (v := truth(inner(row, env))) is None else not v
    if kind == "neg":
        inner = args[0]
        return lambda row, env: None if (n := as_number(inner(row, env))) is None else -n
    if kind == "compare":
        left, right = args
        return lambda row, env: compare(value, left(row, env), right(row, env))
    if kind == "arith":
        return _binary(value, *args)
    spec = FUNCTIONS[value]
    fn, name = spec.fn, value
    if spec.lazy:  # mvfilter: the predicate runs once per value of its one field
        (field,) = fields_of(node)
        predicate = args[0]

        def lazy(row, env):
            return fn(env, row.get(field), lambda v: predicate({**row, field: v}, env))

        return lazy

    def evaluate(row, env):
        values = [a(row, env) for a in args]
        try:
            return fn(env, *values)
        except (TypeError, ValueError, OverflowError, AttributeError):
            raise SPLError.in_command(
                command, f"The arguments to the '{name}' function are invalid."
            ) from None

    return evaluate


def _binary(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda row, env: _arith(op, left(row, env), right(row, env))


def _and(left: Evaluator, right: Evaluator) -> Evaluator:
    def run(row, env):
        a = truth(left(row, env))
        if a is False:
            return False
        b = truth(right(row, env))
        return False if b is False else (None if a is None or b is None else True)

    return run


def _or(left: Evaluator, right: Evaluator) -> Evaluator:
    def run(row, env):
        a = truth(left(row, env))
        if a is True:
            return True
        b = truth(right(row, env))
        return True if b is True else (None if a is None or b is None else False)

    return run


def _xor(left: Evaluator, right: Evaluator) -> Evaluator:
    def run(row, env):
        a, b = truth(left(row, env)), truth(right(row, env))
        return None if a is None or b is None else a != b

    return run


def parse_eval(text: str, command: str = "eval") -> Node:
    """Parse an expression; errors name ``command``."""
    if not text.strip():
        raise _malformed(command, "Expected an expression.")
    return _Parser(text, command).parse()


def compile_eval(text: str, command: str = "eval") -> Evaluator:
    """Compile an expression to ``fn(row, env) -> value``; errors name ``command``."""
    return to_python(parse_eval(text, command), command)
