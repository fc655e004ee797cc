"""Triangular cyclical learning rate (Smith 2015) as a pure function of the step."""
from __future__ import annotations


def triangular_lr(step: int, base_lr: float, max_lr: float, step_size: int) -> float:
    """LR at ``step``: rises linearly base->max over ``step_size`` steps, falls back over the next."""
    if step_size <= 0:
        raise ValueError("step_size must be positive")
    cycle = step // (2 * step_size)
    x = abs(step / step_size - 2 * cycle - 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1.0 - x)
