"""Compile a :class:`~immunocycle.model.Model` to numba functions: right-hand side, Jacobian,
derived quantities and initial values.

The model's expressions are turned into sympy, the Jacobian is differentiated symbolically and
compressed by common-subexpression elimination, and the Python source is written to a cache
folder keyed by the model's structure (not its parameter values), so numba's on-disk cache makes
the second build of the same model nearly free.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import re
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import sympy
from sympy.printing.pycode import PythonCodePrinter

from immunocycle.engine._rodas import sparse_pattern
from immunocycle.model import Model, evaluate_expression, expression_names, parse_expression

CODEGEN_VERSION = "22"
_FUNCS = {"exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
          "min": sympy.Min, "max": sympy.Max, "pow": sympy.Pow}


def _piecewise(*args) -> sympy.Expr:
    """``piecewise(v1, c1, ..., otherwise)`` as a sympy Piecewise (NaN when nothing holds)."""
    pieces = list(zip(args[0::2], args[1::2], strict=False))
    otherwise = args[-1] if len(args) % 2 == 1 else sympy.nan
    return sympy.Piecewise(*pieces, (otherwise, True))


_CONDITIONS = {"piecewise": _piecewise, "_and": sympy.And, "_or": sympy.Or, "_not": sympy.Not,
               "_lt": sympy.Lt, "_le": sympy.Le, "_gt": sympy.Gt, "_ge": sympy.Ge,
               "_eq": sympy.Eq, "_ne": sympy.Ne}
_COMPARE_NAMES = {ast.Lt: "_lt", ast.LtE: "_le", ast.Gt: "_gt", ast.GtE: "_ge", ast.Eq: "_eq",
                  ast.NotEq: "_ne"}


class _Conditions(ast.NodeTransformer):
    """Comparisons and and/or/not as calls of :data:`_CONDITIONS` (a chain ``a < b < c`` is
    ``_and(_lt(a, b), _lt(b, c))``)."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        operands = [node.left, *node.comparators]
        calls = [ast.Call(ast.Name(_COMPARE_NAMES[type(op)], ast.Load()), [a, b], [])
                 for op, a, b in zip(node.ops, operands, operands[1:], strict=False)]
        return calls[0] if len(calls) == 1 else ast.Call(ast.Name("_and", ast.Load()), calls, [])

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        name = "_and" if isinstance(node.op, ast.And) else "_or"
        return ast.Call(ast.Name(name, ast.Load()), node.values, [])

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.Call(ast.Name("_not", ast.Load()), [node.operand], [])
        return node


class _Printer(PythonCodePrinter):
    """Plain math-module code that numba compiles (no numpy, no mpmath)."""

    def _print_Heaviside(self, expr):  # from d/dx of max/abs
        return f"(1.0 if {self._print(expr.args[0])} > 0 else 0.0)"

    def _print_Pow(self, expr, rational=False):
        # numba raises ZeroDivisionError for 0.0 ** negative-int whatever the error model; a
        # float exponent gives inf instead (and such values only occur in unused branches).
        if expr.exp.is_Integer and expr.exp < 0:
            return f"{self.parenthesize(expr.base, 100)}**({float(expr.exp)!r})"
        return super()._print_Pow(expr, rational=rational)

    def _print_SafePow(self, expr):
        b, e = expr.args
        return f"({self._print(b)})**({self._print(e)})"

    def _print_sign(self, expr):
        a = self._print(expr.args[0])
        return f"(1.0 if {a} > 0 else (-1.0 if {a} < 0 else 0.0))"


@dataclass(frozen=True)
class DoseTable:
    """Dosing events in index form; amounts come from :func:`dose_amounts` per patient."""

    bolus_times: np.ndarray      # (B,) days
    bolus_target: np.ndarray     # (B,) state index
    bolus_dose: np.ndarray       # (B,) index into the model's doses
    inf_start: np.ndarray        # (I,)
    inf_end: np.ndarray          # (I,)
    inf_target: np.ndarray       # (I,)
    inf_dose: np.ndarray         # (I,)
    inf_duration: np.ndarray     # (I,)


@dataclass(frozen=True)
class CompiledModel:
    """A model compiled to fast functions, with the names that index its arrays."""

    model: Model
    state_names: list[str]
    parameter_names: list[str]
    derived_names: list[str]
    module: ModuleType
    doses: DoseTable
    uses_time: bool
    source_path: Path
    pattern: np.ndarray  # sparse LU structure of the iteration matrix (engine._rodas.sparse_pattern)
    lu_size: int = 0  # length of the generated LU's work array (module.lu, module.lu_solve)
    n_constants: int = 0  # per-patient constants the generated code reads after the parameters

    def with_constants(self, P: np.ndarray) -> np.ndarray:
        """The (N, P) parameter matrix extended to the (N, P + n_constants) matrix the
        generated functions read: each row's parameter-only terms computed once
        (``module.constants``)."""
        out = np.empty((P.shape[0], P.shape[1] + self.n_constants))
        out[:, :P.shape[1]] = P
        self.module.constants(out)
        return out

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    def default_parameters(self) -> np.ndarray:
        """Parameter vector with the model's values, in declared units."""
        return np.array([self.model.parameters[n].value for n in self.parameter_names], dtype=float)

    def default_values(self) -> dict[str, float]:
        """The model's parameter values by name, in declared units."""
        return dict(zip(self.parameter_names, self.default_parameters(), strict=True))


def cache_dir() -> Path:
    """Where generated sources live (``$IMMUNOCYCLE_CACHE`` or ``~/.cache/immunocycle``)."""
    root = Path(os.environ.get("IMMUNOCYCLE_CACHE", Path.home() / ".cache" / "immunocycle"))
    path = root / "codegen"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _var(name: str) -> str:
    return f"v_{name}"


def compile_model(model: Model) -> CompiledModel:
    """Check ``model`` and compile it; identical structures share one compiled module."""
    model.check()
    states = list(model.species)
    params = list(model.parameters)
    order = model.derived_order()
    path = cache_dir() / f"icm_{structure_key(model)}.py"
    if path.exists():  # same structure compiled before: skip the symbolic work
        cached = _load_cached(model, path, states, params, order)
        if cached is not None:
            return cached
    symbols = {n: sympy.Symbol(_var(n), real=True) for n in [*states, *params, *order]}
    symbols["t"] = sympy.Symbol("t", real=True)

    def to_sympy(text: str | float, field: str) -> sympy.Expr:
        if not isinstance(text, str):
            return sympy.Float(text)
        tree = parse_expression(text, model.source, field)
        local = {n: symbols[n] for n in expression_names(tree)}
        if any(isinstance(n, ast.Call) and n.func.id == "piecewise" for n in ast.walk(tree)):
            # sympify cannot read Python's and/or/not or ==; conditions become calls first
            # (only here, so the code of models without piecewise stays as it was)
            text = ast.unparse(_Conditions().visit(tree))
            local.update(_CONDITIONS)
        return sympy.sympify(text.strip(), locals={**local, **_FUNCS},
                             rational=False)

    derived_src = {a.name: a.expression for a in model.assignments.values()}
    derived_src.update({c.name: c.size for c in model.compartments.values() if isinstance(c.size, str)})
    const_comps = {c.name: float(c.size) for c in model.compartments.values() if not isinstance(c.size, str)}
    for name, size in const_comps.items():
        symbols[name] = sympy.Float(size)
    # after the constant volumes, so that an assignment may use one (imported SBML models do)
    derived = {n: to_sympy(derived_src[n], f"assignments.{n}") for n in order}

    def resolve(expr: sympy.Expr) -> sympy.Expr:
        return expr.xreplace({symbols[n]: v for n, v in const_comps.items()})

    rates = []
    for sp, terms in model.derivative_terms().items():
        total = sympy.Integer(0)
        for coef, rate, volume in terms:
            term = sympy.Float(coef) * to_sympy(rate, f"rate of {sp}")
            if volume is not None:
                term = term / symbols[volume]
            total += term
        rates.append(resolve(total))
    derived = {n: resolve(e) for n, e in derived.items()}

    constant = _constant_derived(params, order, derived, symbols)
    # Full substitution of derived quantities, for the Jacobian only (the constant ones stay
    # symbols: their derivatives are 0, and their values come with the parameters).
    full = {}
    for n in order:
        if n not in constant:
            full[symbols[n]] = derived[n].xreplace(full)
    y_syms = [symbols[s] for s in states]
    rates_full = [_branch_free(r.xreplace(full)) for r in rates]
    uses_time = any(symbols["t"] in r.free_symbols for r in rates_full)
    jac_entries = [(i, j, sympy.diff(r, y)) for i, r in enumerate(rates_full)
                   for j, y in enumerate(y_syms)]
    jac_entries = [(i, j, d) for i, j, d in jac_entries if d != 0]

    init_exprs = [resolve(to_sympy(model.species[s].initial, f"species.{s}.initial")) for s in states]
    hoisted = _Hoisted({symbols[p] for p in params} | {symbols[n] for n in constant})
    derived = {n: e if n in constant else hoisted(e) for n, e in derived.items()}
    rates = [hoisted(r) for r in rates]
    jac_entries = [(i, j, hoisted(d)) for i, j, d in jac_entries]
    source = _render(states, params, order, derived, rates, jac_entries, init_exprs, constant,
                     hoisted.table)
    pattern = sparse_pattern(len(states), [(i, j) for i, j, _ in jac_entries])
    source += "\n" + render_sparse_lu(len(states), [(i, j) for i, j, _ in jac_entries])
    source += f"\nPATTERN = {pattern.tolist()!r}\n"
    # per process and thread: trial chunks may compile the same structure in two threads
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(source + f"\nUSES_TIME = {uses_time}\n")
    os.replace(tmp, path)
    return _finish(model, path, states, params, order)


def _load_cached(model: Model, path: Path, states, params, order) -> CompiledModel | None:
    """The model compiled from its cached source, or ``None`` after deleting a cache file that
    fails to load (truncated by a full disk or a kill), so it is generated again once."""
    try:
        return _finish(model, path, states, params, order)
    except Exception as exc:  # noqa: BLE001 - syntax, missing names or numba errors alike
        sys.modules.pop(f"immunocycle_generated.{path.stem}", None)
        path.unlink(missing_ok=True)
        warnings.warn(f"{path}: cached model code failed to load ({type(exc).__name__}: "
                      f"{str(exc)[:80]}); regenerating it", RuntimeWarning, stacklevel=3)
        return None


def _finish(model: Model, path: Path, states, params, order) -> CompiledModel:
    module = _import(path)
    return CompiledModel(model, states, params, order, module, _dose_table(model, states),
                         bool(module.USES_TIME), path, np.asarray(module.PATTERN, dtype=np.int64),
                         int(module.LU_SIZE), int(module.N_CONSTANTS))


def structure_key(model: Model) -> str:
    """Hash of everything the generated code depends on (not parameter values, not doses)."""
    parts = [CODEGEN_VERSION, repr(list(model.parameters)),
             repr([(s.name, s.compartment, s.initial, s.amount) for s in model.species.values()]),
             repr([(c.name, c.size if isinstance(c.size, str) else float(c.size))
                   for c in model.compartments.values()]),
             repr([(a.name, a.expression) for a in model.assignments.values()]),
             repr(sorted(model.derivative_terms().items()))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


class SafePow(sympy.Function):
    """``b**e`` for a symbolic exponent, differentiated as ``e*b**(e-1)*db``.

    sympy writes d(b**h)/db as ``h*b**h/b``, which is 0/0 at b = 0 (a Hill term before any
    drug arrives); ``b**(h-1)`` is finite there for h >= 1.
    """

    def fdiff(self, argindex=1):
        b, e = self.args
        if argindex == 1:
            return e * SafePow(b, e - 1)
        return SafePow(b, e) * sympy.log(b)


def _branch_free(expr: sympy.Expr) -> sympy.Expr:
    """Prepare an expression for differentiation.

    Powers with symbolic exponents become :class:`SafePow` (sympy writes d(b**h)/db as
    ``h*b**h/b``, 0/0 at b = 0). A power of a min/max, ``max(0, x)**lam``, becomes explicit
    branches of powers, so the derivative in the clipped branch is exactly 0 rather than
    ``inf * 0``. The rewrite is local to each such power; other min/max stay as they are (their
    derivatives are Heaviside steps), since expanding every min/max into branches multiplies
    the expression size.
    """
    def power(base, exp):
        return SafePow(base, exp) if not exp.is_number else sympy.Pow(base, exp)

    def branches(e):
        base, exp = e.args
        *rest, last = base.args
        out = power(last, exp)
        for a in rest:
            cond = (a > last) if isinstance(base, sympy.Max) else (a < last)
            out = sympy.Piecewise((power(a, exp), cond), (out, True))
        return out

    expr = expr.replace(lambda e: isinstance(e, sympy.Pow) and isinstance(e.base, sympy.Max | sympy.Min)
                        and len(e.base.args) == 2, branches)
    return expr.replace(lambda e: isinstance(e, sympy.Pow) and not e.exp.is_number,
                        lambda e: SafePow(e.base, e.exp))


def _constant_derived(params, order, derived, symbols) -> list[str]:
    """The derived quantities that depend on parameters alone (a volume, a fixed fraction), in
    evaluation order: they are computed once per patient, with the parameters."""
    fixed = {symbols[p] for p in params}
    out = []
    for n in order:
        if derived[n].free_symbols <= fixed:
            fixed.add(symbols[n])
            out.append(n)
    return out


class _Hoisted:
    """Rewrites expressions so that their parameter-only parts become named constants.

    A right-hand side is evaluated 8 times per step, but terms such as
    ``q_LD / (V_LN * K_LN * gamma_LN)`` or ``K**n`` only change between patients; computed once
    per patient (:func:`_render`'s ``constants``), they spare the step most of its divisions
    and powers. ``table`` maps each constant expression to its symbol, in creation order; a
    sum or product keeps its state-dependent terms and gathers its constant ones (coefficients
    included) into one.
    """

    def __init__(self, fixed: set):
        self.fixed = fixed
        self.table: dict[sympy.Expr, sympy.Symbol] = {}

    def _name(self, e: sympy.Expr) -> sympy.Symbol:
        if e not in self.table:
            self.table[e] = sympy.Symbol(f"pc_{len(self.table)}", real=True)
        return self.table[e]

    def __call__(self, e):
        if e.is_Atom:
            return e
        if not isinstance(e, sympy.Expr):  # a condition, or a piecewise (value, condition) pair
            return e.func(*[self(a) for a in e.args])
        if e.free_symbols <= self.fixed:
            return self._name(e)
        if isinstance(e, sympy.Add | sympy.Mul):
            fixed = [a for a in e.args if a.free_symbols <= self.fixed]
            rest = [self(a) for a in e.args if not a.free_symbols <= self.fixed]
            if len(fixed) >= 2 or any(not a.is_Atom for a in fixed):
                return e.func(self._name(e.func(*fixed)), *rest)
            return e.func(*fixed, *rest)
        return e.func(*[self(a) for a in e.args])


def _render(states, params, order, derived, rates, jac_entries, init_exprs, constant=(),
            hoisted=None) -> str:
    printer = _Printer({"fully_qualified_modules": True, "standard": "python3"})
    hoisted = hoisted or {}
    n_p = len(params)
    unpack_y = [f"    {_var(s)} = y[{i}]" for i, s in enumerate(states)]
    unpack_p = [f"    {_var(p)} = p[{i}]" for i, p in enumerate(params)]
    unpack_c = [f"    {_var(n)} = p[{n_p + i}]" for i, n in enumerate(constant)]
    unpack_c += [f"    {sym} = p[{n_p + len(constant) + i}]" for i, sym in enumerate(hoisted.values())]
    derived_lines = [f"    {_var(n)} = {printer.doprint(derived[n])}" for n in order
                     if n not in constant]

    def block(exprs, target):
        subs, reduced = sympy.cse(list(exprs), symbols=sympy.numbered_symbols("c_"), optimizations=None)
        lines = [f"    {printer.doprint(s)} = {printer.doprint(e)}" for s, e in subs]
        lines += [f"    {target(k)} = {printer.doprint(e)}" for k, e in enumerate(reduced)]
        return lines

    jac_lines = block([e for _, _, e in jac_entries],
                      lambda k: f"J[{jac_entries[k][0]}, {jac_entries[k][1]}]")
    out = ["# generated by immunocycle.engine._codegen from a model's structure; do not edit",
           "import math", "", "from numba import njit", "",
           "from immunocycle.engine._rodas import (CONSTANTS_SIG, DERIVED_SIG, INIT_SIG, JAC_SIG, LU_SIG,",
           "                                      LU_SOLVE_SIG, RHS_SIG)"]
    unpack = unpack_y + unpack_p + unpack_c

    def function(decorator: str, head: str, body: list[str]) -> list[str]:
        # unpack only the names the body reads: numba types every line, used or not, and a
        # model has hundreds of parameters and constants
        used = set(re.findall(r"[A-Za-z_]\w*", "\n".join(body)))
        return ["", "", decorator, head, *[ln for ln in unpack if ln.split()[0] in used],
                *(body or ["    return"])]

    out += function("@njit(RHS_SIG, cache=True, error_model='numpy')",
                    "def rhs(t, y, p, u, dy):",
                    [*derived_lines, *(f"    dy[{i}] = {printer.doprint(r)} + u[{i}]"
                                       for i, r in enumerate(rates))])
    out += function("@njit(JAC_SIG, cache=True, error_model='numpy')",
                    "def jac(t, y, p, u, J):", jac_lines)
    out += function("@njit(DERIVED_SIG, cache=True, error_model='numpy')",
                    "def derived(t, y, p, out):",
                    [*derived_lines, *(f"    out[{k}] = {_var(n)}" for k, n in enumerate(order))])
    out += function("@njit(INIT_SIG, cache=True, error_model='numpy')", "def init(p, y0):",
                    [f"    y0[{i}] = {printer.doprint(e)}" for i, e in enumerate(init_exprs)])
    out += ["", "", "@njit(CONSTANTS_SIG, cache=True, error_model='numpy')", "def constants(P):",
            "    for r in range(P.shape[0]):", "        p = P[r]"]
    body = []
    for i, n in enumerate(constant):
        body += [f"        {_var(n)} = {printer.doprint(derived[n])}", f"        p[{n_p + i}] = {_var(n)}"]
    body += [f"        p[{n_p + len(constant) + i}] = {printer.doprint(e)}"
             for i, e in enumerate(hoisted)]
    used = set(re.findall(r"[A-Za-z_]\w*", "\n".join(body)))
    out += [f"    {ln}" for ln in unpack_p if ln.split()[0] in used] + (body or ["        pass"])
    out += ["", "", f"N_CONSTANTS = {len(constant) + len(hoisted)}", ""]
    return "\n".join(out)


def markowitz_order(n: int, entries) -> tuple[list[int], list[list[int]], list[list[int]]]:
    """A fill-reducing order of diagonal pivots (Markowitz: fewest (row - 1) x (column - 1)
    nonzeros of the remaining submatrix first; ties by index) and the symbolic LU in that order.

    Returns the pivot order and, per pivot, the rows below it in L and the columns right of it in
    U (both as original indices, fill-in included).
    """
    rows = [set() for _ in range(n)]
    cols = [set() for _ in range(n)]
    for i, j in [*entries, *((k, k) for k in range(n))]:
        rows[i].add(j)
        cols[j].add(i)
    active = set(range(n))
    order, lower, upper = [], [], []
    while active:
        k = min(active, key=lambda v: ((len(rows[v]) - 1) * (len(cols[v]) - 1), v))
        below = sorted(cols[k] - {k})
        right = sorted(rows[k] - {k})
        order.append(k)
        lower.append(below)
        upper.append(right)
        active.discard(k)
        for i in below:
            rows[i].discard(k)
            for j in right:
                rows[i].add(j)
                cols[j].add(i)
        for j in right:
            cols[j].discard(k)
    return order, lower, upper


# Straight-line LU code grows with the number of updates; beyond this many the generated LU
# declines (returns False) and the solver factors densely with pivoting.
MAX_LU_UPDATES = 40_000
PIVOT_THRESHOLD = 1e-8


def render_sparse_lu(n: int, entries) -> str:
    """Source of ``lu(J, c, w)`` and ``lu_solve(w, b)`` for the model's Jacobian pattern.

    ``lu`` builds the iteration matrix ``c I - J`` on the pattern (with fill-in) into the flat
    array ``w`` (length ``LU_SIZE``) and factors it without pivoting in a fill-reducing order
    (:func:`markowitz_order`), as straight-line code with every index a constant. It returns
    False when a pivot is zero, not finite, or below ``PIVOT_THRESHOLD`` x its value before
    elimination (more than 8 digits lost to cancellation), so that the caller can fall back to a
    dense LU with partial pivoting. The test is invariant to scaling rows and columns, which
    matters here: the cycle model mixes cells and concentrations, so a row's or column's largest
    entry can be 1e11 times a perfectly good pivot. ``lu_solve`` solves with the factors in
    place.
    """
    order, lower, upper = markowitz_order(n, entries)
    updates = sum(len(a) * len(b) for a, b in zip(lower, upper, strict=True))
    slot: dict[tuple[int, int], int] = {}
    for k, below, right in zip(order, lower, upper, strict=True):
        slot[(k, k)] = len(slot)
        for i in below:
            slot[(i, k)] = len(slot)
        for j in right:
            slot[(k, j)] = len(slot)
    size = len(slot) + n  # then the reciprocal pivots
    nonzero = set(entries)
    head = ["@njit(LU_SIG, cache=True, error_model='numpy')", "def lu(J, c, w):"]
    solve = ["@njit(LU_SOLVE_SIG, cache=True, error_model='numpy')", "def lu_solve(w, b):"]
    if updates > MAX_LU_UPDATES:
        return "\n".join([*head, "    return False", "", "", *solve, "    return", "",
                          f"LU_SIZE = {size}", ""])
    body = []
    for (i, j), q in slot.items():
        if i == j:
            body.append(f"    w[{q}] = c - J[{i}, {i}]" if (i, i) in nonzero else f"    w[{q}] = c")
        else:
            body.append(f"    w[{q}] = -J[{i}, {j}]" if (i, j) in nonzero else f"    w[{q}] = 0.0")
    body += [f"    o{k} = abs(w[{slot[(k, k)]}])" for k in order]
    for pos, (k, below, right) in enumerate(zip(order, lower, upper, strict=True)):
        # the pivot may not lose more than 8 digits to cancellation (scale-invariant)
        body.append(f"    d = abs(w[{slot[(k, k)]}])")
        body.append(f"    if not (0.0 < d < 1e300 and d >= {PIVOT_THRESHOLD!r} * o{k}):")
        body.append("        return False")
        body.append(f"    r = 1.0 / w[{slot[(k, k)]}]")
        body.append(f"    w[{len(slot) + pos}] = r")
        for i in below:
            body.append(f"    f = w[{slot[(i, k)]}] * r")
            body.append(f"    w[{slot[(i, k)]}] = f")
            body += [f"    w[{slot[(i, j)]}] -= f * w[{slot[(k, j)]}]" for j in right]
    body.append("    return True")
    sbody = []
    for k, below in zip(order, lower, strict=True):  # forward: L (unit diagonal)
        if below:
            sbody.append(f"    x = b[{k}]")
            sbody += [f"    b[{i}] -= w[{slot[(i, k)]}] * x" for i in below]
    for pos in range(n - 1, -1, -1):  # backward: U
        k, right = order[pos], upper[pos]
        terms = "".join(f" - w[{slot[(k, j)]}] * b[{j}]" for j in right)
        sbody.append(f"    b[{k}] = (b[{k}]{terms}) * w[{len(slot) + pos}]")
    return "\n".join([*head, *body, "", "", *solve, *(sbody or ["    return"]), "",
                      f"LU_SIZE = {size}", ""])


def _import(path: Path) -> ModuleType:
    name = f"immunocycle_generated.{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # Registered before execution: numba compiles eagerly at import and records the module by
    # name, so its on-disk cache can find the module again in the next process.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _dose_table(model: Model, states: list[str]) -> DoseTable:
    index = {s: i for i, s in enumerate(states)}
    bt, btg, bd, s0, s1, itg, idd, dur = [], [], [], [], [], [], [], []
    for k, d in enumerate(model.doses):
        for time in d.times:
            if d.duration > 0:
                s0.append(time), s1.append(time + d.duration), itg.append(index[d.target])
                idd.append(k), dur.append(d.duration)
            else:
                bt.append(time), btg.append(index[d.target]), bd.append(k)
    order = np.argsort(bt, kind="stable")
    arr = np.asarray
    return DoseTable(arr(bt, float)[order], arr(btg, np.int64)[order], arr(bd, np.int64)[order],
                     arr(s0, float), arr(s1, float), arr(itg, np.int64), arr(idd, np.int64),
                     arr(dur, float))


def dose_amounts(compiled: CompiledModel, parameters) -> np.ndarray:
    """Amount of each dose per patient, shape (N, n_doses), in the target's state units.

    ``parameters``: a frame with every parameter, or the (N, P) matrix in ``parameter_names``
    order (much faster for models with hundreds of parameters).

    Dose amounts are expressions of parameters, evaluated here with numpy so that changing a
    regimen never changes (or recompiles) the generated code.
    """
    model = compiled.model
    n = len(parameters)
    if isinstance(parameters, np.ndarray):  # the (N, P) matrix in parameter_names order
        values = dict(zip(compiled.parameter_names, parameters.T, strict=True))
    else:
        values = {name: parameters[name].to_numpy(dtype=float) for name in compiled.parameter_names}
    amounts = np.zeros((n, max(len(model.doses), 1)))
    for k, d in enumerate(model.doses):
        amount = (evaluate_expression(parse_expression(d.amount, model.source,
                                                       f"doses.{d.name}.amount"), values)
                  if isinstance(d.amount, str) else d.amount)
        target = model.species[d.target]
        if not target.amount:
            amount = amount / float(model.compartments[target.compartment].size)
        amounts[:, k] = amount
    return amounts
