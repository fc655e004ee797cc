"""Cyclical learning rates (Smith 2015) as pure functions of the step."""
from __future__ import annotations

SCHEDULES = ("triangular", "triangular2")  # TrainConfig.schedule; triangular2 = triangular_lr(decay=True)


def triangular_lr(step: int, base_lr: float, max_lr: float, step_size: int, decay: bool = False) -> float:
    """LR at ``step``: rises linearly base->max over ``step_size`` steps, falls back over the next.

    ``decay`` is Smith's "triangular2" policy: each cycle's amplitude is half the previous one's,
    so a long run anneals towards ``base_lr`` instead of ending on a noisy high-LR epoch.
    """
    if step_size <= 0:
        raise ValueError("step_size must be positive")
    cycle = step // (2 * step_size)
    x = abs(step / step_size - 2 * cycle - 1)
    amplitude = (max_lr - base_lr) / (2 ** cycle if decay else 1)
    return base_lr + amplitude * max(0.0, 1.0 - x)
