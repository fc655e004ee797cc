"""The paper's 8-model comparison (Table I): VGG16 / ResNet34 U-Nets x 128 / 512 px x ImageNet
pretrained / from scratch, written as a markdown table of training loss, testing loss, accuracy and Dice.

Pretrained rows need ImageNet encoder weights. They come from a local folder or smp's download;
where neither works the row says "not run: <reason>" rather than showing made-up numbers.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from goselfies.errors import GoSelfiesError
from goselfies.paths import atomic_path

MODELS = {"vgunet16": ("Vgg16", "vgg16"), "resunet34": ("Resnet34", "resnet34")}  # name -> (label, encoder)
SIZES = (128, 512)
PAPER_BATCH = {128: 64, 512: 16}  # section IV-B
QUICK_SIZES = {128: 32, 512: 64}  # --quick: the same grid, tiny, for tests and smoke runs
QUICK_PAIRS = (40, 16)  # --quick: at most this many training / test pairs, sampled by seed


@dataclass
class GridSpec:
    data: list[str]
    out: str
    test: str | None = None  # a held-out images/ + masks/ folder; default: the validation split
    epochs: int = 50
    batch: int | None = None  # default: the paper's (64 at 128 px, 16 at 512 px)
    lr: float = 1e-3
    max_steps: int | None = None
    quick: bool = False
    encoder_weights_dir: str | None = None
    offline: bool = False  # never try smp's ImageNet download
    resume: bool = False
    device: str = "auto"
    seed: int = 0
    models: tuple[str, ...] = tuple(MODELS)
    sizes: tuple[int, ...] = SIZES

    def scaled(self) -> "GridSpec":
        if not self.quick:
            return self
        return GridSpec(**{**asdict(self), "epochs": 1, "batch": self.batch or 2, "max_steps": self.max_steps or 2})


@dataclass
class GridRow:
    name: str
    model: str
    size: int  # nominal size (the paper's)
    trained_size: int
    pretrained: bool
    status: str = "ok"  # or "not run: <reason>"
    encoder_weights: str | None = None
    train_loss: float | None = None
    test_loss: float | None = None
    accuracy: float | None = None
    dice: float | None = None
    extra: dict = field(default_factory=dict)


def row_name(model: str, size: int, pretrained: bool) -> str:
    return f"{MODELS[model][0]}-{size}" + ("-pretrain" if pretrained else "")


def encoder_candidates(model: str, weights_dir: Path) -> list[Path]:
    enc = MODELS[model][1]
    return [weights_dir / f"{enc}.safetensors", weights_dir / f"{model}-encoder.safetensors"]


def resolve_pretrained(model: str, spec: GridSpec, cache: dict) -> str:
    """A local encoder file or "imagenet"; raises GoSelfiesError with the reason it is unavailable."""
    if model in cache:
        if isinstance(cache[model], GoSelfiesError):
            raise cache[model]
        return cache[model]
    tried = []
    if spec.encoder_weights_dir:
        for path in encoder_candidates(model, Path(spec.encoder_weights_dir)):
            if path.is_file():
                from goselfies.engine.networks import create_model

                try:
                    create_model(model, encoder_weights=path)  # a file that does not fit fails here
                except GoSelfiesError as exc:
                    cache[model] = exc
                    raise
                cache[model] = str(path)
                return str(path)
            tried.append(path.name)
    enc = MODELS[model][1]
    offline = spec.offline or os.environ.get("HF_HUB_OFFLINE") == "1"
    where = f"no {' or '.join(tried)} in {spec.encoder_weights_dir}" if tried else f"no --encoder-weights-dir with {enc}.safetensors"
    if offline:
        err = GoSelfiesError(f"no ImageNet weights for the {enc} encoder ({where}; downloads off)")
    else:
        from goselfies.engine.networks import create_model

        try:
            create_model(model, encoder_weights="imagenet")  # smp caches the download for train()
            cache[model] = "imagenet"
            return "imagenet"
        except GoSelfiesError as exc:
            why = re.search(r"\(([^)]*)\)", str(exc))
            err = GoSelfiesError(f"no ImageNet weights for the {enc} encoder ({where}; download failed: "
                                 f"{why.group(1) if why else exc})")
    cache[model] = err
    raise err


def run_grid(spec: GridSpec, progress: bool = True) -> list[GridRow]:
    """Train and score every row; returns the rows and writes OUT/table.md + OUT/grid.json."""
    from .data import find_pairs
    from .trainer import TrainConfig, train

    spec = spec.scaled()
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    data, test = list(spec.data), spec.test
    if spec.quick:  # a small linked sample keeps a smoke run short on big folders
        data = [str(quick_subset(spec.data, out / "quick-data" / "train", QUICK_PAIRS[0], spec.seed))]
        if test:
            test = str(quick_subset([test], out / "quick-data" / "test", QUICK_PAIRS[1], spec.seed))
    for d in data:  # data problems stop everything up front, not once per row
        find_pairs(d)
    test_pairs = find_pairs(test) if test else None
    cache: dict = {}
    rows: list[GridRow] = []
    for model in spec.models:
        if model not in MODELS:
            raise GoSelfiesError(f"grid model must be one of {', '.join(MODELS)}, got '{model}'")
        for size in spec.sizes:
            for pretrained in (False, True):
                trained = QUICK_SIZES.get(size, size) if spec.quick else size
                row = GridRow(row_name(model, size, pretrained), model, size, trained, pretrained)
                rows.append(row)
                print(f"== {row.name} ({trained} px)", file=sys.stderr)
                try:
                    if pretrained:
                        row.encoder_weights = resolve_pretrained(model, spec, cache)
                except GoSelfiesError as exc:
                    row.status = f"not run: {exc}"
                    _write(out, spec, rows)
                    continue
                try:
                    cfg = TrainConfig(
                        data=list(data), model=model, size=trained, epochs=spec.epochs,
                        batch=spec.batch or PAPER_BATCH.get(size, 16), out=str(out / row.name), lr=spec.lr,
                        encoder_weights=row.encoder_weights, device=spec.device, max_steps=spec.max_steps,
                        seed=spec.seed, resume=spec.resume,
                    )
                    best = train(cfg, progress=progress)
                    _score(row, cfg, best, test_pairs)
                except RuntimeError as exc:  # GoSelfiesError (bad data, bad config) stops the grid
                    if "out of memory" not in str(exc):
                        raise
                    row.status = "not run: out of memory"
                _write(out, spec, rows)
    return rows


def _score(row: GridRow, cfg, best: dict, test_pairs) -> None:
    import torch

    from goselfies.engine.models import model_info
    from goselfies.engine.networks import create_model

    from .data import PairDataset
    from .trainer import load_checkpoint, train_device, validate

    last = load_checkpoint(Path(cfg.out) / "last.pt")
    row.train_loss = float(last["history"][-1]["train_loss"])
    if test_pairs is None:
        row.test_loss, row.accuracy, row.dice = best.get("loss"), best.get("accuracy"), best.get("dice")
        return
    device = train_device(cfg.device)
    model = create_model(cfg.model)
    model.load_state_dict(load_checkpoint(Path(cfg.out) / "best.pt")["model"])
    model.to(device)
    loader = torch.utils.data.DataLoader(PairDataset(test_pairs, cfg.size, False, model_info(cfg.model)), batch_size=cfg.batch)
    scores = validate(model, loader, device, cfg.dice_loss)
    row.test_loss, row.accuracy, row.dice = scores["loss"], scores["accuracy"], scores["dice"]
    row.extra = {"iou": scores["iou"], "n_test": scores["n"]}


def quick_subset(folders: list[str], dest: Path, n: int, seed: int) -> Path:
    """Link (or copy) ``n`` pairs sampled from ``folders`` into ``dest/images`` + ``dest/masks``."""
    import random
    import shutil

    from .data import find_pairs

    pairs = [(i, p) for i, d in enumerate(folders) for p in find_pairs(d, check=False)]
    chosen = sorted(random.Random(seed).sample(range(len(pairs)), min(n, len(pairs))))
    if dest.exists():
        shutil.rmtree(dest)
    for sub in ("images", "masks"):
        (dest / sub).mkdir(parents=True)
    for k in chosen:
        i, pair = pairs[k]
        for src, sub in ((pair.image, "images"), (pair.mask, "masks")):
            target = dest / sub / f"{i}_{src.name}"
            try:
                target.symlink_to(src.resolve())
            except OSError:
                shutil.copyfile(src, target)
    return dest


def markdown_table(rows: list[GridRow], spec: GridSpec) -> str:
    """Table I's layout; the best value of each column in bold, as in the paper."""
    cols = [("train_loss", min), ("test_loss", min), ("accuracy", max), ("dice", max)]
    best = {}
    for key, pick in cols:
        vals = [getattr(r, key) for r in rows if getattr(r, key) is not None]
        best[key] = pick(vals) if vals else None
    test_word = "Testing" if spec.test else "Validation"
    lines = [
        f"| Model | Training loss | {test_word} loss | {test_word} accuracy | {test_word} Dice |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r.status != "ok":
            reason = r.status.replace("|", "/").replace("\n", " ")
            lines.append(f"| {r.name} | {reason} | | | |")
            continue
        cells = []
        for key, _ in cols:
            v = getattr(r, key)
            text = "n/a" if v is None else f"{v:.4f}"
            cells.append(f"**{text}**" if v is not None and v == best[key] and len(rows) > 1 else text)
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    notes = [
        "",
        f"Data: {', '.join(spec.data)}; {test_word.lower()} set: {spec.test or 'validation split of the data'}. "
        f"Epochs {spec.epochs}, LR {spec.lr:g} (triangular CLR), Adam, BCE + Dice.",
    ]
    if spec.quick:
        sizes = ", ".join(f"{k}→{v} px" for k, v in QUICK_SIZES.items())
        notes.append(f"Quick scale ({sizes}, {spec.epochs} epoch × {spec.max_steps} steps, batch {spec.batch}, "
                     f"at most {QUICK_PAIRS[0]} training / {QUICK_PAIRS[1]} test pairs): a plumbing check, not results.")
    return "\n".join(lines + notes) + "\n"


def _write(out: Path, spec: GridSpec, rows: list[GridRow]) -> None:
    for name, text in (("table.md", markdown_table(rows, spec)),
                       ("grid.json", json.dumps({"spec": asdict(spec), "rows": [asdict(r) for r in rows]}, indent=2))):
        with atomic_path(out / name) as tmp:
            tmp.write_text(text)
