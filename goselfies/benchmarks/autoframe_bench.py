"""What auto-framing does on real clips: the person's centre with and without it, and how the crop moves.

    python -m goselfies.benchmarks.autoframe_bench ../shared/data/videos/chair_side_540x960.mp4 \\
        ../shared/data/videos/desk_960x540.mp4 [--json F] [--strip docs/autoframe.png] [--cost]

Each clip goes once through the live frame path (live model and defaults: smoothing, motion skip), frame by
frame (no threads, so nothing is dropped), with auto-framing on and the ``mask`` background: the output is
then the mask of the auto-framed output, and the path's matte the mask of the output without it. Per clip:

- the person's centre (the centroid of the mask's pixels >= 0.5) against the output's centre, without and
  with auto-framing: mean and p95 of |dx| (% of the width) and |dy| (% of the height);
- the crop's motion from frame to frame: the largest move of a crop corner, in the frame's pixels, mean and
  p99, over all frames and over the still stretches: frames whose last second (and the frame itself) kept
  the person's box and centre in the full-frame mask within STILL of the frame's larger side (the
  person did not move, so a crop that moves there is jitter);
- how far it zoomed (the crop's width / the frame's) and the share of frames with a crop at all;
- the face search: the share of frames framed on a face (found, or held), and its CPU time per frame (all
  searches over all frames) and per search (mean and most).

``--strip PNG`` draws the before/after picture of the README (blurred background, the crop drawn on the
left of each pair) from frames at fixed places in the clips; ``--cost`` times the crop per frame at 640x480
and 1280x720 (``FramePath.reframe``: the face search, the framer and the warp; the framer and the warp alone
beside it, and the warp alone) and the face search's CPU time per frame there.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from goselfies.errors import GoSelfiesError, exit_status

HEAD = 0.1  # the top of the person's pixels taken as the head, for the head's position
STILL = 0.015  # the still stretches: the head moved less than this (of the frame's larger side) ...
STILL_SECONDS = 1.0  # ... over this long
STRIP_AT = (0.2, 0.5, 0.95)  # where the strip's pictures are taken in each clip (fractions of its length)
STRIP_HEIGHT = 300  # px: the pictures' height at most ...
STRIP_MIN_HEIGHT = 140  # ... and at least, where fewer pairs make room
STRIP_WIDTH = 1040  # px: each clip's row at most


def person(mask: np.ndarray) -> np.ndarray | None:
    """(centre x, centre y, head x, head top y) of the mask's person pixels (>= 0.5) in its pixels, the head
    being the top HEAD of them by rows; None: no person (under 0.5 % of the mask)."""
    m = mask >= 128
    ys, xs = np.nonzero(m)  # row by row: ys ascending
    if xs.size < 0.005 * m.size:
        return None
    top = max(1, int(HEAD * xs.size))
    return np.array([xs.mean() + 0.5, ys.mean() + 0.5, xs[:top].mean() + 0.5, ys[top // 10]])


def _stats(values, q: float, digits: int = 2) -> tuple[float, float]:
    """(mean, q-th percentile), rounded; nan without values."""
    v = np.asarray(values, np.float64)
    if not v.size:
        return float("nan"), float("nan")
    return round(float(v.mean()), digits), round(float(np.percentile(v, q)), digits)


def still_frames(descriptors: list[np.ndarray | None], window: int, tol: float) -> np.ndarray:
    """Frame i is still when it and the ``window`` frames before it all have a person whose descriptor
    stays within ``tol`` (each component's max - min)."""
    still = np.zeros(len(descriptors), bool)
    for i in range(window, len(descriptors)):
        span = descriptors[i - window:i + 1]
        if any(d is None for d in span):
            continue
        d = np.stack(span)
        still[i] = bool(np.all(d.max(0) - d.min(0) <= tol))
    return still


def measure(video: Path, segment, zoom: float, max_frames: int = 0, keep: set[int] = frozenset()) -> tuple[dict, dict]:
    """One clip: the row of numbers, and {frame index: (frame, matte, crop)} for the frames in ``keep``."""
    from goselfies.frame.autoframe import Crop
    from goselfies.frame.framepath import FramePath, PathConfig
    from goselfies.io.media import VideoReader

    rows = {"without": [], "with": []}
    corners, zooms, descriptors, kept, faces = [], [], [], {}, 0
    with VideoReader(video) as reader:
        fps = reader.fps
        path = FramePath(segment, PathConfig(background="mask", auto_frame=True, frame_zoom=zoom, fps=fps))
        for i, frame in enumerate(reader):
            if max_frames and i >= max_frames:
                break
            framed, matte, _ = path(frame)
            h, w = matte.shape
            crop = path.crop or Crop.full(w, h)
            faces += path.framer.face is not None
            corners.append(crop.corners)
            zooms.append(crop.w / w)
            whole = person(matte)
            descriptors.append(None if whole is None else whole[2:])
            for name, m in (("without", whole), ("with", person(framed))):
                if m is not None:
                    rows[name].append((abs(m[0] - w / 2) / w * 100, abs(m[1] - h / 2) / h * 100,
                                       abs(m[2] - w / 2) / w * 100, m[3] / h * 100))
            if i in keep:
                kept[i] = (frame.copy(), matte.copy(), crop)
    corners = np.array(corners)
    motion = np.abs(np.diff(corners, axis=0)).max(1) if len(corners) > 1 else np.zeros(0)
    still = still_frames(descriptors, max(1, round(STILL_SECONDS * fps)), STILL * max(w, h))[1:]
    row = {"clip": video.name, "size": f"{w}x{h}", "frames": len(corners),
           "person_frames": len(rows["without"])}
    for name, vals in rows.items():
        v = np.array(vals).reshape(-1, 4)
        row[f"dx_{name}_mean"], row[f"dx_{name}_p95"] = _stats(v[:, 0], 95)
        row[f"dy_{name}_mean"], row[f"dy_{name}_p95"] = _stats(v[:, 1], 95)
        row[f"head_dx_{name}_mean"], row[f"head_dx_{name}_p95"] = _stats(v[:, 2], 95)
        row[f"head_top_{name}_mean"] = _stats(v[:, 3], 95)[0]
    row["motion_mean_px"], row["motion_p99_px"] = _stats(motion, 99)
    row["still_frames"] = int(still.sum())
    row["still_motion_mean_px"], row["still_motion_p99_px"] = _stats(motion[still], 99)
    row["still_motion_max_px"] = round(float(motion[still].max()), 3) if still.any() else float("nan")
    row["still_moving_share"] = round(float(np.mean(motion[still] > 0)), 3) if still.any() else float("nan")
    row["crop_width_mean"] = round(float(np.mean(zooms)), 3)
    row["cropped_share"] = round(float(np.mean(np.array(zooms) < 1)), 3)
    row.update(face_stats(path.framer.faces, len(corners)))
    row["face_share"] = round(faces / max(1, len(corners)), 3)
    return row, kept


def face_stats(finder, frames: int) -> dict:
    """The face search's cost: searches, CPU ms per frame (all searches over ``frames``), per search (mean,
    most)."""
    if finder is None:  # (a framer without the face search)
        return {}
    n = finder.searches
    return {"face_searches": n, "face_cpu_ms_per_frame": round(1000 * finder.cpu_seconds / max(1, frames), 3),
            "face_cpu_ms_per_search": round(1000 * finder.cpu_seconds / max(1, n), 2),
            "face_cpu_ms_max": round(1000 * finder.cpu_max, 2)}


def strip(clips: list[tuple[str, dict]], path: Path) -> Path:
    """Before/after pairs, one row per clip: the blurred output with the crop drawn, then the auto-framed
    output. Written as a 256-colour PNG (a README picture, kept small)."""
    from PIL import Image

    from goselfies.frame.autoframe import crop_to
    from goselfies.frame.backgrounds import parse_background
    from goselfies.paths import atomic_path

    blur = parse_background("blur")
    rows = []
    for name, kept in clips:
        pairs = []
        for i in sorted(kept):
            frame, matte, crop = kept[i]
            before = blur.composite(frame, matte)
            after = crop_to(before, crop)
            h, w = before.shape[:2]
            height = strip_layout(w, h)[1]
            scale = height / h
            drawn = before.copy()
            t = max(2, round(2 / scale))
            x0, y0, x1, y1 = (round(v) for v in crop.corners)
            cv2.rectangle(drawn, (x0 + t // 2, y0 + t // 2), (x1 - 1 - t // 2, y1 - 1 - t // 2), (60, 220, 60), t)
            pair = [cv2.resize(img, (round(w * scale), height), interpolation=cv2.INTER_AREA) for img in (drawn, after)]
            for img, label in zip(pair, ("without", "auto-frame")):
                for color, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
                    cv2.putText(img, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, thick, cv2.LINE_AA)
            pairs.append(np.hstack([pair[0], _white(height, 2), pair[1]]))
        rows.append(np.hstack([x for p in pairs for x in (p, _white(p.shape[0], GAP))][:-1]))
    width = max(r.shape[1] for r in rows)
    rows = [np.hstack([r, _white(r.shape[0], width - r.shape[1])]) for r in rows]
    picture = np.vstack([x for r in rows for x in (r, _white(GAP, width))][:-1])
    rgb = Image.fromarray(picture[:, :, ::-1])
    palette = rgb.quantize(256, method=Image.Quantize.MEDIANCUT)
    image = rgb.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)  # dithered: no bands in the blur
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return path


GAP = 10  # px between pairs and rows


def _white(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def strip_layout(width: int, height: int) -> tuple[int, int]:
    """(pairs, picture height) for a clip of this size: as many pairs of STRIP_AT as fit STRIP_WIDTH with
    pictures at least STRIP_MIN_HEIGHT high (at most STRIP_HEIGHT)."""
    for n in range(len(STRIP_AT), 0, -1):
        room = (STRIP_WIDTH - (n - 1) * GAP - 2 * n) / (2 * n)  # each picture's width
        h = min(STRIP_HEIGHT, int(room * height / width))
        if h >= STRIP_MIN_HEIGHT or n == 1:
            return n, h
    raise AssertionError("unreachable")


def strip_frames(frames: int, width: int, height: int) -> set[int]:
    """Where the strip's pictures are taken: n of STRIP_AT (all, first and last, or the middle one)."""
    n = strip_layout(width, height)[0]
    at = STRIP_AT if n == len(STRIP_AT) else (STRIP_AT[0], STRIP_AT[-1]) if n == 2 else (STRIP_AT[len(STRIP_AT) // 2],)
    return {min(frames - 1, int(f * frames)) for f in at}


def cost(segment, video: Path, sizes=((640, 480), (1280, 720)), frames: int = 300, zoom: float = 0.5) -> list[dict]:
    """The crop's cost per frame at each size, on the clip's frames fitted into it (black bars, never
    stretched: a person's shape is what the framer reads), blurred background: ``FramePath.reframe`` (the
    face search, the framer and the warp) as the path times it in the loop, over the frames that were
    cropped, with the compositing beside it, and the face search's CPU time per frame over all frames; then
    the same mattes replayed through ``reframe`` alone (no network between the calls, no face search), and the
    warp alone (``crop_to``) on a fixed half-frame crop."""
    from goselfies.benchmarks.stats import summarize, time_calls
    from goselfies.frame.autoframe import Crop, crop_to
    from goselfies.frame.framepath import FramePath, PathConfig
    from goselfies.io.media import VideoReader
    from goselfies.io.sinks import letterbox

    rows = []
    for w, h in sizes:
        path = FramePath(segment, PathConfig(background="blur", auto_frame=True, frame_zoom=zoom))
        reframe, composite, mattes = [], [], []
        with VideoReader(video, loop=True) as reader:
            for _, frame in zip(range(frames), reader):
                out = path(letterbox(frame, w, h))[0]
                mattes.append(path._matte.copy())  # the small matte the frame was framed with
                if not path.crop.is_full(w, h):
                    reframe.append(path.timings.timer("autoframe").stats().last_ms)
                    composite.append(path.timings.timer("composite").stats().last_ms)
        out = out.copy()
        face = face_stats(path.framer.faces, frames)
        replay = FramePath(segment, PathConfig(background="blur", auto_frame=True, frame_zoom=zoom))
        alone = []
        for small in mattes:
            replay.reframe(out, small)
            if not replay.crop.is_full(w, h):
                alone.append(replay.timings.timer("autoframe").stats().last_ms)
        image = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
        buf = np.empty_like(image)
        crop = Crop(w * 0.2 + 0.37, h * 0.1 + 0.61, w * 0.5, h * 0.5)
        warp = summarize(time_calls(lambda: crop_to(image, crop, buf), frames, 10))
        (rf_mean, rf_p99), (cp_mean, _) = _stats(reframe, 99, 3), _stats(composite, 99, 3)
        al_mean, al_p99 = _stats(alone, 99, 3)
        rows.append({"size": f"{w}x{h}", "frames": frames, "cropped_frames": len(reframe),
                     "reframe_mean_ms": rf_mean, "reframe_p99_ms": rf_p99, "composite_mean_ms": cp_mean,
                     "reframe_alone_mean_ms": al_mean, "reframe_alone_p99_ms": al_p99,
                     "warp_alone_median_ms": round(warp.median_ms, 3), **face})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--model", default="auto", help="as goselfies webcam (default: the live default)")
    p.add_argument("--size", type=int, help="network input size (default: the model's)")
    p.add_argument("--frame-zoom", default="0.5", help="the narrowest crop (default 0.5, as --frame-zoom)")
    p.add_argument("--frames", type=int, default=0, help="at most this many frames per clip (default all)")
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument("--strip", type=Path, metavar="PNG", help="also draw the before/after picture strip here")
    p.add_argument("--cost", action="store_true", help="also time the crop per frame at 640x480 and 1280x720 "
                   "(on the first clip)")
    args = p.parse_args(argv)

    def run() -> int:
        from goselfies.benchmarks.machine import load_average, machine_info
        from goselfies.engine.segmenter import Segmenter, SegmenterConfig
        from goselfies.frame.autoframe import parse_zoom
        from goselfies.io.media import VideoReader

        zoom = parse_zoom(args.frame_zoom)
        for video in args.videos:
            if not video.is_file():
                raise GoSelfiesError(f"{video}: no such video file")
        cv2.setNumThreads(1)  # as a live session (live.LIVE_THREADS)
        seg = Segmenter(SegmenterConfig(model=args.model, device="cpu", size=args.size), quiet=True)
        rows, clips = [], []
        for video in args.videos:
            keep: set[int] = set()
            if args.strip:
                with VideoReader(video) as r:
                    n = min(r.frame_count, args.frames) if args.frames else r.frame_count
                    keep = strip_frames(n, r.width, r.height)
            row, kept = measure(video, seg, zoom, args.frames, keep)
            rows.append(row)
            clips.append((video.name, kept))
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        result = {"model": seg.describe(), "frame_zoom": zoom, "machine": machine_info("cpu"), "rows": rows}
        if args.cost:
            result["cost"] = cost(seg, args.videos[0], zoom=zoom)
            for c in result["cost"]:
                print("cost " + " ".join(f"{k}={v}" for k, v in c.items()), flush=True)
        if args.strip:
            print(f"wrote {strip(clips, args.strip)}", flush=True)
        result["load_average_after"] = load_average()
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2))
        return 0

    return exit_status("benchmarks.autoframe", run)


if __name__ == "__main__":
    sys.exit(main())
