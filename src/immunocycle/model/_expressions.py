"""Rate-law expressions: a safe subset of Python arithmetic, parsed once and checked for units.

An expression is a string such as ``"k_kill * T * C / (K_C + C)"``. Allowed: numbers, names of
model symbols, ``+ - * / **``, unary minus, and the functions in :data:`FUNCTIONS`.

``piecewise(v1, c1, v2, c2, ..., otherwise)`` takes the first value whose condition holds (the
order of MathML's ``piecewise``; without ``otherwise`` the value is NaN when no condition
holds). Conditions are comparisons (``< <= > >= == !=``) joined by ``and``, ``or``, ``not``;
they may appear only as conditions of a piecewise, and a piecewise's value is never a condition.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping

import numpy as np
import pint

from immunocycle._inputs import limits, short
from immunocycle.model._errors import ModelError
from immunocycle.model._units import ureg

#: Characters of an expression quoted in a message (a longer one is shortened).
_EXPR_CHARS = 200
FUNCTIONS = ("exp", "log", "sqrt", "abs", "min", "max", "pow", "piecewise")
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_ALLOWED_NODES = (ast.Expression, ast.Call, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant,
                  ast.Load, ast.USub, ast.UAdd, *_BINOPS, ast.Compare, *_COMPARE, ast.BoolOp,
                  ast.And, ast.Or, ast.Not)


def parse(text: str, where: str, field: str) -> ast.Expression:
    """Parse and vet an expression; only arithmetic on names, numbers and FUNCTIONS is allowed.

    The text must be ASCII: Python folds look-alike letters (fullwidth ``ｋ`` is read as ``k``),
    so a non-ASCII name would silently stand for another symbol. A constant exponent (including
    a tower such as ``9**9**9``) may not exceed ``expressions.max_exponent`` of
    ``data/limits.yaml``: exact integer powers that large run for hours.
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelError(where, field, f"expected an expression string, got {short(text)}")
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        raise ModelError(where, field, f"in {short(text)}: non-ASCII character {bad!r} "
                         f"(U+{ord(bad):04X}); names and operators must be ASCII")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ModelError(where, field, f"cannot parse {short(text, _EXPR_CHARS)}: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or node.keywords:
                raise ModelError(where, field,
                                 f"in {short(text, _EXPR_CHARS)}: only the functions {', '.join(FUNCTIONS)} are allowed")
        elif isinstance(node, ast.BinOp) and not isinstance(node.op, _BINOPS):
            raise ModelError(where, field, f"in {short(text, _EXPR_CHARS)}: operator {type(node.op).__name__} not allowed")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ModelError(where, field, f"in {short(text, _EXPR_CHARS)}: constant {short(node.value)} is not a number")
        elif not isinstance(node, _ALLOWED_NODES):
            raise ModelError(where, field, f"in {short(text, _EXPR_CHARS)}: {type(node).__name__} is not allowed")
    _check_kinds(tree.body, False, text, where, field)
    for node in ast.walk(tree):
        exponent = (node.right if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
                    else node.args[1] if isinstance(node, ast.Call) and node.func.id == "pow"
                    and len(node.args) == 2 else None)
        if exponent is not None and not names(ast.Expression(exponent)):
            _check_exponent(exponent, text, where, field)
    return tree


def _is_condition(node: ast.expr) -> bool:
    return isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))


def _check_kinds(node: ast.expr, condition: bool, text: str, where: str, field: str) -> None:
    """Conditions only where a piecewise expects one, numbers everywhere else."""
    def fail(message: str) -> ModelError:
        return ModelError(where, field, f"in {short(text, _EXPR_CHARS)}: {message}")

    if _is_condition(node) != condition:
        raise fail(f"{ast.unparse(node)!r} is a condition where a number is required"
                   if condition is False else
                   f"{ast.unparse(node)!r} is not a condition (a comparison such as x > 0)")
    if isinstance(node, ast.Compare):
        for operand in [node.left, *node.comparators]:
            _check_kinds(operand, False, text, where, field)
    elif isinstance(node, ast.BoolOp):
        for operand in node.values:
            _check_kinds(operand, True, text, where, field)
    elif isinstance(node, ast.UnaryOp):
        _check_kinds(node.operand, condition, text, where, field)
    elif isinstance(node, ast.BinOp):
        _check_kinds(node.left, False, text, where, field)
        _check_kinds(node.right, False, text, where, field)
    elif isinstance(node, ast.Call):
        if node.func.id == "piecewise":
            if not node.args:
                raise fail("piecewise() needs at least one value")
            for k, arg in enumerate(node.args):
                # value, condition, value, condition, ..., [otherwise]
                _check_kinds(arg, k % 2 == 1, text, where, field)
        else:
            for arg in node.args:
                _check_kinds(arg, False, text, where, field)


def _check_exponent(node: ast.expr, text: str, where: str, field: str) -> None:
    """Refuse a constant exponent above the limit; evaluated in floats, so towers end at once."""
    cap = float(limits()["expressions"]["max_exponent"])
    try:
        value = float(evaluate(ast.Expression(node), {}))
    except (OverflowError, ZeroDivisionError, ValueError, TypeError):
        value = math.inf
    if not abs(value) <= cap:  # also catches NaN
        raise ModelError(where, field, f"in {short(text)}: the exponent {ast.unparse(node)} "
                         f"exceeds the limit of {cap:g} (data/limits.yaml)")


def names(tree: ast.Expression) -> set[str]:
    """Symbol names used by a parsed expression (function names excluded)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def evaluate(tree: ast.Expression, values: Mapping[str, object]):
    """Evaluate a parsed expression with the given symbol values (floats or pint quantities)."""
    funcs = {"exp": _unitless(math.exp), "log": _unitless(math.log), "sqrt": lambda x: x ** 0.5,
             "abs": abs, "min": min, "max": max, "pow": lambda a, b: a ** b}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            # floats: an integer power such as 9**9**9 overflows at once instead of being
            # computed exactly for hours
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return np.logical_not(ev(node.operand))
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.Compare):
            return _compare(node, ev)
        if isinstance(node, ast.BoolOp):
            join = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = ev(node.values[0])
            for v in node.values[1:]:
                out = join(out, ev(v))
            return out
        if isinstance(node, ast.Call):
            if node.func.id == "piecewise":
                return _piecewise([ev(a) for a in node.args])
            return funcs[node.func.id](*[ev(a) for a in node.args])
        left, right = ev(node.left), ev(node.right)
        op = type(node.op)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        return left ** right

    return ev(tree)


_COMPARE_FUNCS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
                  ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}


def _compare(node: ast.Compare, ev):
    """A (chained) comparison; quantities of different dimensions raise DimensionalityError."""
    out, left = True, ev(node.left)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = ev(comparator)
        if isinstance(left, pint.Quantity) or isinstance(right, pint.Quantity):
            # a condition compares like with like; a bare zero goes with any units (as in pint)
            lu, ru = (x.units if isinstance(x, pint.Quantity) else None for x in (left, right))
            if None not in (lu, ru) and lu.dimensionality != ru.dimensionality or \
                    (lu is None and not _zero(left) and not ru.dimensionless) or \
                    (ru is None and not _zero(right) and not lu.dimensionless):
                raise pint.errors.DimensionalityError(lu or ureg.dimensionless, ru or ureg.dimensionless,
                                                      extra_msg=" in a comparison")
        out = np.logical_and(out, _COMPARE_FUNCS[type(op)](left, right))
        left = right
    return out


def _zero(value) -> bool:
    """A bare 0 or NaN, which pint lets stand for any units (``x + 0``, ``x > 0``)."""
    return not isinstance(value, pint.Quantity) and (value == 0 or value != value)


def _piecewise(args: list):
    """First value whose condition holds (elementwise for arrays); NaN when none does.

    Quantities: every branch must have the same units (the piecewise's units).
    """
    values = args[0::2]
    conds = args[1::2]
    otherwise = values.pop() if len(args) % 2 == 1 else math.nan
    quantities = [v for v in [*values, otherwise] if isinstance(v, pint.Quantity)]
    if quantities:
        unit = quantities[0].units
        for v in [*values, otherwise]:
            if isinstance(v, pint.Quantity):
                v.to(unit)  # raises DimensionalityError for a branch in other units
            elif not _zero(v) and not unit.dimensionless:
                raise pint.errors.DimensionalityError(ureg.dimensionless, unit,
                                                      extra_msg=" between piecewise branches")
        return quantities[0]
    out = otherwise
    for value, cond in zip(reversed(values), reversed(conds), strict=True):
        out = np.where(cond, value, out) if np.ndim(cond) else (value if cond else out)
    return out


def _unitless(fn):
    def wrapped(x):
        if isinstance(x, pint.Quantity):
            if not x.dimensionless:
                raise pint.errors.DimensionalityError(x.units, "dimensionless",
                                                      extra_msg=f" inside {fn.__name__}()")
            x = x.to("dimensionless").magnitude
        return fn(x)
    return wrapped


def result_units(tree: ast.Expression, text: str, symbol_units: Mapping[str, pint.Unit],
                 dimensionless_values: Mapping[str, float], where: str, field: str) -> pint.Unit:
    """Units an expression evaluates to, given each symbol's units.

    Dimensionful symbols evaluate with magnitude 1; dimensionless ones with their value, so that
    exponents such as a Hill coefficient give the right units.
    """
    values: dict[str, object] = {}
    for name, unit in symbol_units.items():
        mag = dimensionless_values.get(name, 1.0) if unit.dimensionless else 1.0
        values[name] = ureg.Quantity(mag if mag not in (0.0,) else 0.5, unit)
    try:
        result = evaluate(tree, values)
    except pint.errors.DimensionalityError as exc:
        raise ModelError(where, field, f"inconsistent units in {short(text, _EXPR_CHARS)}: {exc}") from None
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        raise ModelError(where, field, f"cannot check units of {short(text, _EXPR_CHARS)}: {exc}") from None
    if not isinstance(result, pint.Quantity):
        return ureg.dimensionless
    # Float exponents (L**lam / L**lam) leave round-off such as cell**1.0000000000000002.
    exps = {name: round(power, 9) for name, power in result.units._units.items()}
    return ureg.Unit(pint.util.UnitsContainer({k: v for k, v in exps.items() if v != 0}))
