"""The oracle's PyTorch side: a model's forward pass op by op, autograd, and the real layers.

`TORCH` translates each operator into PyTorch, so any model runs there as written;
`FUNCTIONALS` says how to call the layer PyTorch ships (F.layer_norm, ...) with a built-in
model's inputs. Values are torch tensors laid out as the engine lays out its arrays. PyTorch
itself is never imported here: the caller passes the module in (judge/oracle.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from bnverify.engine.evaluate import Hessian, fold
from bnverify.engine.sampling import leaf_shapes
from bnverify.language.names import gradient_name
from bnverify.language.operators import Op
from bnverify.language.tree import Expr
from bnverify.model.graph import Model

# (a value's name, what computed it, its value): "g_x", "autograd of F.layer_norm", array
Computed = tuple[str, str, np.ndarray]


@dataclass(frozen=True)
class Layout:
    """Arrays as the engine lays them out (engine/evaluate.py): one dimension per axis,
    1 where a value does not vary, then the draws. The context of every row of TORCH."""

    torch: Any  # the module
    sizes: dict[str, int]
    draws: int
    hessian: Hessian | None = None  # for hess(a, b): the downstream Hessian, when given

    @property
    def full(self) -> tuple[int, ...]:
        """The shape of a value that varies over every axis."""
        return (*self.sizes.values(), self.draws)

    def constant(self, value: Fraction) -> Any:
        """A number as a float64 tensor (infinite past float64, as the engine has it)."""
        try:
            number = value.numerator / value.denominator
        except OverflowError:
            number = float("inf") if value > 0 else float("-inf")
        return self.torch.tensor(number, dtype=self.torch.float64)

    def reduce(self, x: Any, axes: tuple[str, ...], how: str) -> Any:
        """x summed (or averaged) over `axes`, () meaning every axis.

        The value is spread over every axis first, so a sum over an axis it does not vary
        along counts it once per element, as the language means it: sum(gamma, d) = D*gamma.
        """
        order = list(self.sizes)
        dims = [order.index(axis) for axis in axes or order]
        return getattr(x.expand(self.full), how)(dim=dims, keepdim=True)


def _hess(t: Layout, a: Any, b: Any, axes: tuple[str, ...]) -> Any:
    """a^T H b per draw, H the layout's Hessian (engine.evaluate.Hessian) over its axes."""
    if t.hessian is None:
        raise NotImplementedError("hess(a, b) needs the layout's Hessian of the output")
    matrices = np.asarray(t.hessian.per_channel(t.draws), dtype=np.float64)
    h = t.torch.tensor(matrices)
    left, right = (_flat(t, x, t.hessian.axes) for x in (a, b))
    value = t.torch.einsum("mc,cmn,nc->c", left, h, right)
    return value.reshape((*(1 for _ in t.sizes), t.draws))


def _flat(t: Layout, x: Any, axes: tuple[str, ...]) -> Any:
    """x spread over `axes` (first element along the others), as (M, draws)."""
    x = x.expand(t.full)
    for k, axis in enumerate(t.sizes):
        if axis not in axes:
            x = x.narrow(k, 0, 1)
    return x.reshape(-1, t.draws)


# Operator -> the same operation on torch tensors, from (layout, *argument values); an
# exponent comes as the exact Fraction it stands for, and a reduction's row also gets the
# axes it removes (evaluate.fold calls the rows).
TORCH: dict[Op, Callable[..., Any]] = {
    Op.ADD: lambda t, a, b: a + b,
    Op.SUB: lambda t, a, b: a - b,
    Op.MUL: lambda t, a, b: a * b,
    Op.DIV: lambda t, a, b: a / b,
    Op.POW: lambda t, a, exponent: t.torch.pow(a, float(exponent)),
    Op.NEG: lambda t, a: -a,
    Op.SQRT: lambda t, a: t.torch.sqrt(a),
    Op.EXP: lambda t, a: t.torch.exp(a),
    Op.LOG: lambda t, a: t.torch.log(a),
    Op.SUM: lambda t, a, axes: t.reduce(a, axes, "sum"),
    Op.MEAN: lambda t, a, axes: t.reduce(a, axes, "mean"),
    Op.DOT: lambda t, a, b, axes: t.reduce(a * b, axes, "sum"),
    Op.ONES: lambda t: t.torch.ones(t.full, dtype=t.torch.float64),
    Op.HESS: _hess,
}


def in_torch(expr: Expr, values: Mapping[str, Any], layout: Layout) -> Any:
    """A resolved tree's value as a torch tensor, from the tensors of the names it uses."""
    return fold(expr, values, layout, (TORCH, "oracle_torch.TORCH"), layout.constant)


def tensors(torch: Any, arrays: Mapping[str, np.ndarray], wrt: tuple[str, ...]) -> dict:
    """float64 tensors of arrays, those named in `wrt` recording their gradients."""
    return {
        name: torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=name in wrt)
        for name, array in arrays.items()
    }


def gradients(torch: Any, output: Any, upstream: Any, wrt: list[Any]) -> list[np.ndarray]:
    """torch.autograd's gradients of L = sum(upstream * output); zeros where unused."""
    grads = torch.autograd.grad((upstream * output).sum(), wrt, allow_unused=True)
    return [
        torch.zeros_like(x).numpy() if g is None else g.detach().numpy()
        for x, g in zip(wrt, grads, strict=True)
    ]


def by_autograd(model: Model, layout: Layout, leaves: Mapping[str, np.ndarray]) -> list[Computed]:
    """The output, and the gradient of every leaf, of the model run op by op in PyTorch."""
    values = tensors(layout.torch, leaves, model.leaves)
    for axis, name in model.sizes.items():
        values[name] = layout.constant(Fraction(layout.sizes[axis]))
    for name, expr in model.nodes:
        values[name] = in_torch(expr, values, layout)
    output = values[model.output]
    wrt = [values[name] for name in model.leaves]
    grads = gradients(layout.torch, output, values[model.upstream], wrt)
    return [
        (model.output, "the model in PyTorch", output.detach().numpy()),
        *((gradient_name(n), "autograd", g) for n, g in zip(model.leaves, grads, strict=True)),
    ]


@dataclass(frozen=True)
class Functional:
    """How to run the layer PyTorch ships on one draw of a model's leaves.

    `call` gets torch.nn.functional and the leaves of one draw, laid out as the engine lays
    them out without the draws (LayerNorm's gamma is (1, D)), and returns the model's
    output; `inputs` are the leaves PyTorch differentiates (not running statistics, which
    it keeps as buffers, nor eps, which it takes as a number).
    """

    name: str
    call: Callable[[Any, Mapping[str, Any]], Any]
    inputs: tuple[str, ...]


def _eps(v: Mapping[str, Any]) -> float:
    return float(v["eps"])


def _affine(v: Mapping[str, Any]) -> tuple[Any, Any]:
    return v["gamma"].reshape(-1), v["beta"].reshape(-1)


def _batch_norm(F: Any, v: Mapping[str, Any], training: bool) -> Any:
    running = (None, None) if training else (v["mu"].reshape(1), v["var"].reshape(1))
    z = v["z"].reshape(-1, 1)  # one channel: the batch is (N, 1)
    return F.batch_norm(z, *running, *_affine(v), training=training, eps=_eps(v))


def _group_norm(F: Any, v: Mapping[str, Any]) -> Any:
    n, g, c, s = v["x"].shape  # PyTorch's channel g*C + c is the row-major (g, c)
    return F.group_norm(v["x"].reshape(n, g * c, s), g, *_affine(v), eps=_eps(v))


# Built-in model -> the functional that computes the same layer.
FUNCTIONALS: dict[str, Functional] = {
    "batchnorm": Functional(
        "F.batch_norm(training=True)",
        lambda F, v: _batch_norm(F, v, training=True),
        ("z", "gamma", "beta"),
    ),
    "batchnorm-eval": Functional(
        "F.batch_norm(training=False)",
        lambda F, v: _batch_norm(F, v, training=False),
        ("z", "gamma", "beta"),
    ),
    "batchnorm2d": Functional(
        "F.batch_norm(training=True) on (N, C, S)",
        lambda F, v: F.batch_norm(v["x"], None, None, *_affine(v), training=True, eps=_eps(v)),
        ("x", "gamma", "beta"),
    ),
    "layernorm": Functional(
        "F.layer_norm",
        lambda F, v: F.layer_norm(v["x"], v["x"].shape[-1:], *_affine(v), eps=_eps(v)),
        ("x", "gamma", "beta"),
    ),
    "rmsnorm": Functional(
        "F.rms_norm",
        lambda F, v: F.rms_norm(v["x"], v["x"].shape[-1:], v["gamma"].reshape(-1), _eps(v)),
        ("x", "gamma"),
    ),
    "groupnorm": Functional("F.group_norm", _group_norm, ("x", "gamma", "beta")),
    "instancenorm": Functional(
        "F.instance_norm",
        lambda F, v: F.instance_norm(v["x"], None, None, *_affine(v), eps=_eps(v)),
        ("x", "gamma", "beta"),
    ),
    "softmax-cross-entropy": Functional(
        "F.cross_entropy(probability targets, reduction='none')",
        lambda F, v: F.cross_entropy(v["x"], v["t"], reduction="none"),
        ("x", "t"),
    ),
}


def functional_of(model: Model) -> Functional | None:
    """The functional of a built-in model; none for a model file of one's own, even one
    that takes a built-in model's name."""
    builtin = model.path == f"<builtin>/{model.name}.toml"
    return FUNCTIONALS.get(model.name) if builtin else None


def by_functional(
    model: Model, layout: Layout, leaves: Mapping[str, np.ndarray], functional: Functional
) -> list[Computed]:
    """The output of PyTorch's own layer, draw by draw, and autograd's gradients of it.

    PyTorch may refuse the sizes (BatchNorm in training mode at N = 1): a ValueError or
    a RuntimeError saying why.
    """
    import torch.nn.functional as F  # PyTorch is there: the caller has it

    values = tensors(layout.torch, leaves, functional.inputs)
    shape = leaf_shapes(model, layout.sizes, 1)[model.upstream][:-1]
    draws = [
        functional.call(F, {name: v[..., draw] for name, v in values.items()}).reshape(shape)
        for draw in range(layout.draws)
    ]
    output = layout.torch.stack(draws, dim=-1)
    wrt = [values[name] for name in functional.inputs]
    grads = gradients(layout.torch, output, values[model.upstream], wrt)
    return [
        (model.output, functional.name, output.detach().numpy()),
        *(
            (gradient_name(n), f"autograd of {functional.name}", g)
            for n, g in zip(functional.inputs, grads, strict=True)
        ),
    ]
