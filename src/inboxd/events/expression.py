"""Filter expressions: the subset of filtrex that Texter's scenario templates use.

    direction == "incoming" and (text == "help" or text == "stop")
    not exists(agent.uid)
    inArray(addedLabels, "vip")

Grammar (lowest precedence first; as in filtrex, `not` binds tighter than a comparison, so
`not a == b` is `(not a) == b` — write `not (a == b)`):

    or      := and ("or" and)*
    and     := compare ("and" compare)*
    compare := unary (("==" | "!=" | "<" | "<=" | ">" | ">=") unary)*
    unary   := "not" unary | primary
    primary := NUMBER | STRING | "true" | "false" | NAME | FUNC "(" args ")" | "(" or ")"

An expression is parsed once, when a scenario is imported, into a small tree of the classes
below, and evaluated by walking that tree. Nothing is ever handed to Python's `eval`/`compile`,
and names are only ever looked up as keys of the event's JSON data (and indexes of its lists),
never as attributes, so `__class__`, `__import__` and friends are just absent keys or unknown
functions. There is no arithmetic (no `^`/`**`: no huge powers), no loops and no user-defined
functions, so evaluation is linear in the size of the tree; the tree's size and depth are
bounded at parse time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 2000
MAX_TOKENS = 400
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 32


class ExpressionError(ValueError):
    """The expression is not valid; the message says what and where (1-based character)."""


class _Missing:
    """What a name is when the data has no such key (filtrex's `undefined`)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# --- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool


@dataclass(frozen=True)
class Name:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Literal | Name | Not | BoolOp | Compare | Call


# --- tokens ---------------------------------------------------------------------------------

_SEGMENT = r"[A-Za-z_$][A-Za-z0-9_$]*"
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<name>"""
    + _SEGMENT
    + r"(?:\.(?:"
    + _SEGMENT
    + r"""|\d+))*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|,)
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"and", "or", "not", "true", "false"}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | name | keyword | op | end
    text: str
    pos: int  # 0-based


def _tokens(source: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            hint = " (strings take double quotes)" if char == "'" else ""
            raise ExpressionError(f"unexpected character {char!r} at {pos + 1}{hint}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "space":
            if kind == "name" and text in _KEYWORDS:
                kind = "keyword"
            out.append(_Token(kind, text, pos))
            if len(out) > MAX_TOKENS:
                raise ExpressionError(f"the expression is too long (more than {MAX_TOKENS} tokens)")
        pos = match.end()
    out.append(_Token("end", "", len(source)))
    return out


def _string_value(token: _Token) -> str:
    raw = token.text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = raw[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise ExpressionError(f"unknown escape \\{code} in the string at {token.pos + 1}")
    return "".join(out)


def _number_value(token: _Token) -> int | float:
    if len(token.text) > MAX_NUMBER_CHARS:
        raise ExpressionError(f"the number at {token.pos + 1} is too long")
    value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"the number at {token.pos + 1} is out of range")
    return value


# --- the parser (recursive descent, depth-bounded) ------------------------------------------

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, kind: str, text: str) -> None:
        if self.token.kind != kind or self.token.text != text:
            raise self.unexpected(f"expected {text!r}")

    def unexpected(self, wanted: str) -> ExpressionError:
        token = self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return ExpressionError(f"{wanted}, found {found} at {token.pos + 1}")

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")

    def parse(self) -> Node:
        node = self.or_()
        if self.token.kind != "end":
            raise self.unexpected("expected an operator (==, !=, <, >, and, or) or the end")
        return node

    def or_(self) -> Node:
        return self._bool("or", self.and_)

    def and_(self) -> Node:
        return self._bool("and", self.compare)

    def _bool(self, op: str, operand: Callable[[], Node]) -> Node:
        operands = [operand()]
        while self.token.kind == "keyword" and self.token.text == op:
            self.advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(op, tuple(operands))

    def compare(self) -> Node:
        node = self.unary()
        while self.token.kind == "op" and self.token.text in _COMPARISONS:
            op = self.advance().text
            node = Compare(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.token.kind == "keyword" and self.token.text == "not":
            self.advance()
            self.nested()
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Literal(_number_value(token))
        if token.kind == "string":
            self.advance()
            return Literal(_string_value(token))
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.advance()
            return Literal(token.text == "true")
        if token.kind == "op" and token.text == "(":
            self.advance()
            self.nested()
            node = self.or_()
            self.expect("op", ")")
            self.advance()
            self.depth -= 1
            return node
        if token.kind == "name":
            self.advance()
            if self.token.kind == "op" and self.token.text == "(":
                return self.call(token)
            return Name(tuple(token.text.split(".")))
        raise self.unexpected("expected a value, a name, a function call or '('")

    def call(self, name: _Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {name.text!r} at {name.pos + 1} (available: {known})")
        self.advance()  # "("
        self.nested()
        args: list[Node] = []
        if not (self.token.kind == "op" and self.token.text == ")"):
            args.append(self.or_())
            while self.token.kind == "op" and self.token.text == ",":
                self.advance()
                args.append(self.or_())
        self.expect("op", ")")
        self.advance()
        self.depth -= 1
        if len(args) != function.arity:
            raise ExpressionError(
                f"{name.text}() takes {function.arity} argument{'s' if function.arity != 1 else ''}, "
                f"got {len(args)} at {name.pos + 1}"
            )
        return Call(name.text, tuple(args))


def parse(source: str) -> Node:
    """The expression's tree, or `ExpressionError` saying what is wrong and where."""
    if not isinstance(source, str):
        raise ExpressionError("the expression must be a string")
    if not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    return _Parser(_tokens(source)).parse()


# --- evaluation -----------------------------------------------------------------------------


def lookup(data: Any, path: tuple[str, ...] | list[str]) -> Any:
    """Walk `path` through JSON data: keys of objects, indexes of arrays. MISSING when absent."""
    value = data
    for segment in path:
        if isinstance(value, dict):
            if segment not in value:
                return MISSING
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit():
            index = int(segment)
            if index >= len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value


def truthy(value: Any) -> bool:
    """JavaScript's truthiness, which filtrex conditions follow: empty arrays and objects are true."""
    if value is MISSING or value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    """Strict JSON equality: no coercion between types (1 is not "1", true is not 1); a missing
    name equals nothing but null."""
    if a is MISSING:
        a = None
    if b is MISSING:
        b = None
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _order(op: str, a: Any, b: Any) -> bool:
    # Only numbers with numbers and strings with strings are ordered; anything else is false.
    if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def compare(op: str, a: Any, b: Any) -> bool:
    """`a op b` for one of `==`, `!=`, `<`, `<=`, `>`, `>=`."""
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    return _order(op, a, b)


@dataclass(frozen=True)
class _Function:
    arity: int
    run: Callable[..., Any]


def _exists(value: Any) -> bool:
    return value is not MISSING and value is not None


def _in_array(values: Any, needle: Any) -> bool:
    return isinstance(values, list) and any(equal(item, needle) for item in values)


FUNCTIONS = {"exists": _Function(1, _exists), "inArray": _Function(2, _in_array)}


def evaluate(node: Node, data: Any) -> Any:
    """The value of the expression for `data` (the JSON object its names refer to)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return lookup(data, node.path)
    if isinstance(node, Not):
        return not truthy(evaluate(node.operand, data))
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(truthy(evaluate(operand, data)) for operand in node.operands)
        return any(truthy(evaluate(operand, data)) for operand in node.operands)
    if isinstance(node, Compare):
        return compare(node.op, evaluate(node.left, data), evaluate(node.right, data))
    if isinstance(node, Call):
        return FUNCTIONS[node.function].run(*(evaluate(arg, data) for arg in node.args))
    raise TypeError(f"not an expression node: {node!r}")


def matches(node: Node, data: Any) -> bool:
    return truthy(evaluate(node, data))
