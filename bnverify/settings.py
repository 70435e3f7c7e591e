"""How hard a check works: every default in one visible place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Batch sizes and seeds for the layers of evidence and the diagnosis."""

    seed: int = 0
    # Symbolic proof at N = 1..max_symbolic_batch.
    max_symbolic_batch: int = 8
    # Exact rational trials: (batch size, channels).
    exact_trials: tuple[tuple[int, int], ...] = ((2, 4), (3, 4), (5, 4), (16, 4), (256, 4))
    # Float64 sweeps: batch sizes and channels (informational only).
    float_sizes: tuple[int, ...] = (16, 256, 4096)
    float_channels: int = 16
    # Probes of a diverging candidate ("matches when ..."): (batch size, channels).
    probe_trials: tuple[tuple[int, int], ...] = ((2, 2), (3, 2), (6, 2))
    # Counterexamples are searched at these batch sizes, smallest first.
    counterexample_sizes: tuple[int, ...] = (2, 3, 4, 1)
    # Reports plot a diverging candidate's float64 error at these batch sizes.
    curve_sizes: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
