"""Eval expressions (``eval``, ``where``) compiled to Python closures over a row.

Values are str, int, float, list (multivalue) or None (null); booleans only inside
expressions. Comparisons are case-sensitive, numeric when both sides are numbers.

>>> compile_eval("if(x > 2, upper(y) . \\"!\\", null())", "eval")({"x": "3", "y": "hi"}, None)
'HI!'
"""

from __future__ import annotations

import re
from collections.abc import Callable
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

    def parse(self) -> Evaluator:
        expr = self.disjunction()
        if self.i < len(self.tokens):
            raise _malformed(
                self.command, f"An unexpected character is reached at '{self.tokens[self.i][1]}'."
            )
        return expr

    def disjunction(self) -> Evaluator:
        left = self.conjunction()
        while self.peek("kw", "OR", "XOR"):
            word = self.take()[1].upper()
            right = self.conjunction()
            left = _or(left, right) if word == "OR" else _xor(left, right)
        return left

    def conjunction(self) -> Evaluator:
        left = self.negation()
        while self.peek("kw", "AND"):
            self.take()
            left = _and(left, self.negation())
        return left

    def negation(self) -> Evaluator:
        if self.peek("kw", "NOT"):
            self.take()
            inner = self.negation()
            return lambda row, env: None if (v := truth(inner(row, env))) is None else not v
        return self.comparison()

    def comparison(self) -> Evaluator:
        left = self.additive()
        if self.peek("op", *COMPARATORS):
            op = self.take()[1]
            right = self.additive()
            return lambda row, env: compare(op, left(row, env), right(row, env))
        if self.peek("kw", "LIKE"):
            self.take()
            pattern = self.additive()
            return lambda row, env: FUNCTIONS["like"].fn(env, left(row, env), pattern(row, env))
        if self.peek("kw", "IN"):
            self.take()
            self.expect("(")
            options = self.arguments()
            return lambda row, env: FUNCTIONS["in"].fn(
                env, left(row, env), *(o(row, env) for o in options)
            )
        return left

    def additive(self) -> Evaluator:
        left = self.multiplicative()
        while self.peek("op", "+", "-", "."):
            left = _binary(self.take()[1], left, self.multiplicative())
        return left

    def multiplicative(self) -> Evaluator:
        left = self.unary()
        while self.peek("op", "*", "/", "%"):
            left = _binary(self.take()[1], left, self.unary())
        return left

    def unary(self) -> Evaluator:
        if self.peek("op", "-"):
            self.take()
            inner = self.unary()
            return lambda row, env: None if (n := as_number(inner(row, env))) is None else -n
        return self.primary()

    def arguments(self) -> list[Evaluator]:
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

    def primary(self) -> Evaluator:
        kind, value = self.take()
        if kind in ("num", "str"):
            return lambda row, env: value
        if kind == "field":
            return lambda row, env: row.get(value)
        if kind == "op" and value == "(":
            inner = self.disjunction()
            self.expect(")")
            return inner
        if kind == "name":
            if self.peek("op", "("):
                self.take()
                return self.call(value, self.arguments())
            return lambda row, env: row.get(value)
        raise _malformed(self.command, f"An unexpected character is reached at '{value}'.")

    def call(self, name: str, args: list[Evaluator]) -> Evaluator:
        spec = FUNCTIONS.get(name.lower())
        if spec is None:
            raise SPLError.in_command(
                self.command, f"The '{name}' function is unsupported or undefined."
            )
        if not spec.min_args <= len(args) <= spec.max_args:
            raise SPLError.in_command(
                self.command, f"The arguments to the '{name}' function are invalid."
            )
        fn, command = spec.fn, self.command

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


def compile_eval(text: str, command: str = "eval") -> Evaluator:
    """Compile an expression to ``fn(row, env) -> value``; errors name ``command``."""
    if not text.strip():
        raise _malformed(command, "Expected an expression.")
    return _Parser(text, command).parse()
