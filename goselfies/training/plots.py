"""PNG charts of training runs (matplotlib, headless)."""
from __future__ import annotations

from pathlib import Path


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(epochs, [r["train_loss"] for r in history], label="train loss")
    if "val_loss" in history[0]:
        a.plot(epochs, [r["val_loss"] for r in history], label="val loss")
        for k in ("val_dice", "val_iou", "val_accuracy"):
            b.plot(epochs, [r[k] for r in history], label=k.removeprefix("val_"))
    a.set_xlabel("epoch"); a.legend(); a.set_title("loss")
    b.set_xlabel("epoch"); b.legend(); b.set_title("validation")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
