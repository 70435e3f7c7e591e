"""bnverify's naming conventions, in one place: the names the engine and the notation share.

The gradient of x is g_x, the Hessian of the loss with respect to x is H_x, the
normalised x is xhat, the batch size is N and a batch of ones is ones; the LaTeX
spelling of a plain name (gamma -> \\gamma, zhat -> \\hat{z}, g_y -> g_{y})
follows from the same rules. No other module spells these.
"""

from __future__ import annotations

import re

BATCH_SIZE = "N"  # the number of samples in a batch, a positive integer
ONES = "ones"  # a batch of ones, for sums written as a product with ones
EULER = "e"  # e^{x} is exp(x), unless a derivation or its model gives e a meaning
GRADIENT_PREFIX = "g_"
HESSIAN_PREFIX = "H_"  # H_y: the downstream loss's Hessian over pairs of elements of y
# The key of a LaTeX names table that spells the Hessian in hess(a, b) (no model name has #).
HESSIAN_KEY = "H#"
HAT_SUFFIX = "hat"
# The letters LaTeX spells as commands (gamma as \\gamma): the LaTeX grammar's letter rule.
# fmt: off
LATEX_LETTERS = (
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "varpi", "rho", "varrho",
    "sigma", "varsigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
    "Omega", "ell",
)
# fmt: on


def hat_name(name: str) -> str:
    """The name of the normalised `name`: <name>hat."""
    return f"{name}{HAT_SUFFIX}"


def hat_of(name: str) -> str | None:
    """The name a hat name normalises, or None when it is not one."""
    return name[: -len(HAT_SUFFIX)] if name.endswith(HAT_SUFFIX) and len(name) > 3 else None


def gradient_name(name: str) -> str:
    """The name of the gradient of `name`: g_<name>."""
    return f"{GRADIENT_PREFIX}{name}"


def gradient_of(name: str) -> str | None:
    """The name a gradient name refers to, or None when it is not one."""
    prefix = len(GRADIENT_PREFIX)
    return name[prefix:] if name.startswith(GRADIENT_PREFIX) and len(name) > prefix else None


def hessian_name(name: str) -> str:
    """The name of the loss's Hessian with respect to `name`: H_<name> (H_y, the given
    downstream one, for the output)."""
    return f"{HESSIAN_PREFIX}{name}"


def hessian_of(name: str) -> str | None:
    """The name a Hessian name refers to, or None when it is not one."""
    prefix = len(HESSIAN_PREFIX)
    return name[prefix:] if name.startswith(HESSIAN_PREFIX) and len(name) > prefix else None


def statistic_name(statistic: str, of: str) -> str:
    """The name of a statistic written as the paper does, Var[x]: "Var[x]"."""
    return f"{statistic}[{of}]"


def latex_name(name: str) -> str:
    """A LaTeX spelling of a plain name: gamma -> \\gamma, zhat -> \\hat{z}, g_y -> g_{y}.

    Names may come from a user's file, so anything but letters and digits is escaped:
    no text of a name ever becomes a LaTeX command.
    """
    target = gradient_of(name)
    if target is not None:
        return latex_gradient(latex_name(target))
    statistic = re.fullmatch(r"([A-Za-z]+)\[(.+)\]", name)  # Var[x], as the parser names it
    if statistic:
        return rf"\mathrm{{{statistic.group(1)}}}\left[{latex_name(statistic.group(2))}\right]"
    power = re.fullmatch(r"(.+)\^(\d+)", name)  # sigma_B^2, as the LaTeX parser names it
    if power:
        base = latex_name(power.group(1))
        return f"{{{base}}}^{{{power.group(2)}}}" if "^" in base else f"{base}^{{{power.group(2)}}}"
    hatted = hat_of(name)
    if hatted is not None:
        return rf"\hat{{{latex_name(hatted)}}}"
    base, underscore, sub = name.partition("_")
    if underscore and base and sub:
        return f"{latex_name(base)}_{{{latex_name(sub)}}}"
    if name in LATEX_LETTERS:
        return f"\\{name}"
    if len(name) == 1 and name.isascii() and name.isalnum():
        return name
    return rf"\mathrm{{{math_text(name)}}}"


# Characters that mean something to TeX, as math-mode text; anything else that is not
# plain ASCII becomes "?" (pdflatex has no glyph for most of it in math mode).
_MATH_SPECIALS = {
    "\\": r"\backslash ",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "^": r"\wedge ",
    "~": r"\sim ",
}


def math_text(text: str) -> str:
    """Text made safe to stand inside \\mathrm{...} in LaTeX math."""
    return "".join(
        _MATH_SPECIALS.get(c, c if c.isascii() and c.isprintable() else "?") for c in text
    )


def latex_gradient(spelled: str) -> str:
    """The LaTeX spelling of the gradient of a spelled name: \\hat{z} -> g_{\\hat{z}}."""
    return f"g_{{{spelled}}}"


def with_index(base: str, index: str) -> str:
    """An element of a spelled name: g_{y} -> g_{y,i}, \\hat{z} -> \\hat{z}_{i}."""
    match = re.fullmatch(r"g_\{(.*)\}", base)
    if match:
        return f"g_{{{match.group(1)},{index}}}"
    if "_" in base or "^" in base:  # \sigma_B^2_{i} would be a double script
        return f"{{{base}}}_{{{index}}}"
    return f"{base}_{{{index}}}"
