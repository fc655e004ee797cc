"""Benchmark output: a terminal table, JSON (everything), CSV (one row per configuration), PNG chart.

Rows are plain dicts so JSON and CSV carry exactly what the table shows. ``ratio_to_mediapipe`` is
the row's median time over MediaPipe's median in the same mode and run: 1.5 means 1.5x slower.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .stats import Summary

CSV_FIELDS = ["mode", "model", "backend", "precision", "device", "frame", "net_input", "batch", "n",
              "median_ms", "p90_ms", "p99_ms", "mean_ms", "fps", "ratio_to_mediapipe", "setup_s", "note", "skipped"]
STAGE_ORDER = ["decode", "segment", "segment.pre", "segment.infer", "segment.post", "composite", "encode"]


def make_row(mode: str, model: str, backend: str, precision: str, device: str, net_input: str, batch: int,
             summary: Summary | None, frame: str = "", setup_s: float | None = None, note: str = "",
             skipped: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "mode": mode, "model": model, "backend": backend, "precision": precision, "device": device,
        "frame": frame, "net_input": net_input, "batch": batch, "note": note, "skipped": skipped,
        "setup_s": None if setup_s is None else round(setup_s, 2), "ratio_to_mediapipe": None,
    }
    if summary is not None:
        row.update(n=summary.n, median_ms=round(summary.median_ms, 3), p90_ms=round(summary.p90_ms, 3),
                   p99_ms=round(summary.p99_ms, 3), mean_ms=round(summary.mean_ms, 3), fps=round(summary.fps, 2),
                   stages_ms={k: round(v, 3) for k, v in summary.stages_ms.items()})
    return row


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's median over the (first) MediaPipe row of the same mode."""
    for mode in {r["mode"] for r in rows}:
        ref = next((r for r in rows if r["mode"] == mode and r["model"] == "mediapipe" and r.get("median_ms")), None)
        if ref is None:
            continue
        for r in rows:
            if r["mode"] == mode and r.get("median_ms"):
                # per frame: a batch of N counts as N frames
                r["ratio_to_mediapipe"] = round(r["median_ms"] / r["batch"] / ref["median_ms"], 2)


def _stages_text(stages: dict[str, float] | None) -> str:
    if not stages:
        return ""
    keys = [k for k in STAGE_ORDER if k in stages] + [k for k in stages if k not in STAGE_ORDER]
    return " ".join(f"{k.replace('segment.', '')}={stages[k]:.1f}" for k in keys)


def format_table(rows: list[dict[str, Any]]) -> str:
    head = ["mode", "model", "backend", "prec", "frame", "net in", "batch", "median ms", "p90", "p99", "FPS",
            "x MP", "stages (median ms)"]
    lines = []
    for r in rows:
        if r.get("skipped"):
            lines.append([r["mode"], r["model"], r["backend"], r["precision"], r["frame"], r["net_input"],
                          str(r["batch"]), "skipped: " + r["skipped"], "", "", "", "", ""])
            continue
        ratio = r.get("ratio_to_mediapipe")
        lines.append([r["mode"], r["model"], r["backend"], r["precision"], r["frame"], r["net_input"], str(r["batch"]),
                      f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['p99_ms']:.1f}", f"{r['fps']:.1f}",
                      "" if ratio is None else f"{ratio:.2f}", _stages_text(r.get("stages_ms"))])
    timed = [l for l in lines if not l[7].startswith("skipped")]
    widths = [max([len(h)] + [len(l[i]) for l in timed]) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for l in lines:
        if l[7].startswith("skipped"):
            out.append("  ".join(c.ljust(w) for c, w in zip(l[:7], widths[:7])) + "  " + l[7])
        else:
            out.append("  ".join(c.ljust(w) for c, w in zip(l, widths)).rstrip())
    return "\n".join(out)


def write_json(path: Path, machine: dict[str, Any], config: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"machine": machine, "config": config, "results": rows}, indent=2) + "\n")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    stages = sorted({k for r in rows for k in (r.get("stages_ms") or {})},
                    key=lambda k: STAGE_ORDER.index(k) if k in STAGE_ORDER else 99)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIELDS + [f"stage_{s}_ms" for s in stages])
        for r in rows:
            w.writerow([r.get(k, "") if r.get(k) is not None else "" for k in CSV_FIELDS]
                       + [(r.get("stages_ms") or {}).get(s, "") for s in stages])


def _label(r: dict[str, Any]) -> str:
    if r["model"] == "mediapipe":
        return f"MediaPipe {r['backend']}"
    batch = f" b{r['batch']}" if r["batch"] != 1 else ""
    return f"{r['model']} {r['backend']} {r['precision']} {r['net_input']}{batch}"


def write_chart(path: Path, rows: list[dict[str, Any]], title: str) -> None:
    """Left: model-only frames a second. Right: pipeline time per frame stacked by stage, a 30 fps camera's budget marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model_rows = [r for r in rows if r["mode"] == "model" and r.get("fps")]
    pipe_rows = [r for r in rows if r["mode"] == "pipeline" and r.get("fps")]
    panels = [p for p in (model_rows, pipe_rows) if p]
    if not panels:
        return
    n = max(len(p) for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 1.6 + 0.38 * n), squeeze=False)
    axes = list(axes[0])
    colors = {"decode": "#9ecae1", "segment": "#e6550d", "composite": "#31a354", "encode": "#756bb1"}
    if model_rows:
        ax = axes.pop(0)
        fps = [r["fps"] for r in model_rows]
        ax.barh(range(len(model_rows)), fps,
                color=["#888888" if r["model"] == "mediapipe" else "#3182bd" for r in model_rows])
        ax.set_yticks(range(len(model_rows)), [_label(r) for r in model_rows], fontsize=8)
        ax.axvline(30, color="k", ls="--", lw=0.8)
        ax.text(30, len(model_rows) - 0.45, " 30 FPS", fontsize=7, va="bottom")
        ax.set_title("frames per second (model only, median)", fontsize=9)
        if max(fps) / max(min(fps), 1e-6) > 50:  # eager CPU rows next to fast ones: keep both readable
            ax.set_xscale("log")
            ax.set_title("frames per second (model only, median; log scale)", fontsize=9)
        ax.invert_yaxis()
        for i, v in enumerate(fps):
            ax.text(v, i, f" {v:.0f}" if v >= 10 else f" {v:.1f}", va="center", fontsize=7)
    if pipe_rows:
        ax = axes.pop(0)
        left = [0.0] * len(pipe_rows)
        for stage, color in colors.items():
            vals = [(r.get("stages_ms") or {}).get(stage, 0.0) for r in pipe_rows]
            ax.barh(range(len(pipe_rows)), vals, left=left, color=color, label=stage)
            left = [a + b for a, b in zip(left, vals)]
        ax.set_yticks(range(len(pipe_rows)), [_label(r) for r in pipe_rows], fontsize=8)
        ax.axvline(1000 / 30, color="k", ls="--", lw=0.8)
        ax.text(1000 / 30, len(pipe_rows) - 0.45, " 33 ms = 30 FPS", fontsize=7, va="bottom")
        ax.set_title(f"pipeline ms per frame (median per stage), frame {pipe_rows[0]['frame']}", fontsize=9)
        ax.invert_yaxis()
        # very slow rows (eager CPU) would squash the real-time region: clip them and say so
        limit = min(max(left), max(120.0, 4 * min(left)))
        for i, r in enumerate(pipe_rows):
            ratio = r.get("ratio_to_mediapipe")
            extra = f", {ratio:.2f}x MP" if ratio and r["model"] != "mediapipe" else ""
            if left[i] > limit * 1.6:  # clipped: white label inside the bar's end
                ax.text(limit * 1.58, i, f"{r['median_ms']:.0f} ms, {r['fps']:.1f} FPS{extra} ", va="center",
                        ha="right", fontsize=7, color="white")
            else:
                ax.text(left[i], i, f" {r['fps']:.1f} FPS{extra}", va="center", fontsize=7)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
        ax.set_xlim(0, limit * 1.6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    _shrink_png(path)


def _shrink_png(path: Path) -> None:
    """A chart has few colours: a 128-colour palette makes the PNG about 3x smaller (it is committed)."""
    try:
        from PIL import Image
    except ImportError:  # matplotlib brings Pillow; without it the full-colour file stays
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
