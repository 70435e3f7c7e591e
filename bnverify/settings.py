"""How hard a check works, and how much work an input may ask for: every default in one place."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _limit(default: int | float, text: str, most: int | None = None) -> int | float:
    # The help text (and the most a flag may raise it to) travel with the default;
    # cli.limit_options makes one flag per field.
    return field(default=default, metadata={"help": text, "most": most})


@dataclass(frozen=True)
class Limits:
    """Bounds against hostile input; each has a flag (--max-file-bytes, ...) that raises it.

    Derivation files come from strangers, so every cost an input can choose is bounded
    before it is paid: no number, power or tree is built past its limit.
    """

    # Derivations are a page of TOML; anything bigger is a mistake.
    max_file_bytes: int = _limit(1_000_000, "Largest derivation file read, in bytes.")
    max_candidates: int = _limit(100, "Most candidates checked per file; the rest are errors.")
    # The shipped candidates have at most ~60 nodes after parsing.
    max_expression_size: int = _limit(2_000, "Most nodes in one formula's tree.")
    # Later stages compare and walk trees recursively: past ~400 levels Python's stack ends.
    max_nesting: int = _limit(
        200, "Deepest nesting of brackets and operations in a formula.", most=400
    )
    # Bounds a literal's exponent (1e1000) and a power's (z^1000, nested powers multiplied),
    # so 1e999999 or z^(10^10) never builds a giant integer.
    max_exponent: int = _limit(1_000, "Largest exponent of a number literal or a power.")
    max_digits: int = _limit(1_000, "Most digits in a number literal.")
    # Measured cold, one candidate per process after start-up: the slowest shipped
    # candidate takes 0.13 s of CPU; 5 s leaves room for far larger formulas. CPU
    # seconds, so that a busy machine does not change a verdict.
    time_budget: float = _limit(5.0, "CPU seconds the check of one candidate may take.")
    # A worker process holds about 250 MB of address space before its first candidate;
    # the shipped candidates need under 100 MB more. Four times that leaves room for a
    # big class, and stops a candidate that would fill the machine's memory.
    max_memory: int = _limit(
        1_000, "Megabytes of memory (address space) a worker may add to what it was forked with."
    )

    def exceeded(self, name: str, what: str) -> str:
        """A message for a limit that `what` passes: names the limit and its flag."""
        return f"{what}; the limit is {getattr(self, name):,} (raise it with {flag(name)})"


def flag(name: str) -> str:
    """The command-line flag of a Limits field: max_file_bytes -> --max-file-bytes."""
    return "--" + name.replace("_", "-")


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Settings:
    """Batch sizes and seeds for the layers of evidence and the diagnosis, and the limits."""

    seed: int = 0
    # Element-by-element proofs at one N look this far for the first N at which the truth
    # is defined (N = 1 for Batch Norm, 2 with an unbiased variance).
    max_symbolic_batch: int = 8
    # Float64 sweeps: batch sizes and channels (informational only).
    float_sizes: tuple[int, ...] = (16, 256, 4096)
    float_channels: int = 16
    # Counterexamples are searched at these batch sizes, smallest first.
    counterexample_sizes: tuple[int, ...] = (2, 3, 4, 1)
    # Reports plot a diverging candidate's float64 error at these batch sizes.
    curve_sizes: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
    limits: Limits = DEFAULT_LIMITS
    # The proof for every N may use this share of the candidate's time budget before the
    # search for a counterexample takes over (which alone can still prove a divergence).
    symbolic_share: float = 0.4
    # An unexpected exception while checking a candidate becomes that candidate's error
    # verdict; with debug (--debug) it propagates, traceback and all.
    debug: bool = False

    @property
    def candidate_seconds(self) -> float:
        """How long one candidate may take in all: its check, then its diagnosis.

        The verdict is decided within the time budget; the diagnosis of a divergence gets
        a budget of its own, so running out there can never change the verdict.
        """
        return 2 * self.limits.time_budget

    @property
    def symbolic_seconds(self) -> float:
        """How long the proof for every N may take before the counterexample search."""
        return self.limits.time_budget * self.symbolic_share
