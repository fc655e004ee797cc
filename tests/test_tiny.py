"""The ``tiny`` network (MediaPipe's selfie segmenter's architecture) and ``training.from_tflite``, which fills it
from a TFLite file."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from goselfies.engine.networks import create_model
from goselfies.engine.tiny import LAYERS

# TFLite's layouts, written here from the schema's documentation, not from the converter: a convolution's kernel
# is (out, kh, kw, in), a depthwise one's (1, kh, kw, channels), a transposed one's (out, kh, kw, in).
CONV = (0, 2, 3, 1)
DEPTHWISE = (1, 2, 3, 0)
TRANSPOSED = (1, 2, 3, 0)


def _tflite_tensors(net) -> dict[str, np.ndarray]:
    """A tiny network's weights named and laid out as MediaPipe's file holds them (its convolutions and depthwise
    convolutions each numbered in the order they run)."""
    modules = dict(net.named_modules())
    out, count = {}, {False: 0, True: 0}
    for name in LAYERS:
        m = modules[name]
        depthwise = m.groups > 1
        n = count[depthwise]
        count[depthwise] += 1
        prefix = ("depthwise_conv2d" if depthwise else "conv2d") + (f"_{n}" if n else "")
        out[f"{prefix}/Kernel"] = m.weight.detach().permute(*(DEPTHWISE if depthwise else CONV)).numpy()
        out[f"{prefix}/Bias"] = m.bias.detach().numpy()
    out["segment/Kernel"] = net.out.weight.detach().permute(*TRANSPOSED).numpy()
    out["segment/Bias"] = net.out.bias.detach().numpy()
    return out


def _write_tflite(tensors: dict[str, np.ndarray], path) -> None:
    """A TFLite flatbuffer holding only these constant tensors (float16, as MediaPipe stores them), written with
    the schema's own builders."""
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(1 << 20)
    buffers, tensor_offsets = [], []
    tflite.BufferStart(b)
    buffers.append(tflite.BufferEnd(b))  # buffer 0: empty, by convention
    for i, (name, value) in enumerate(tensors.items(), 1):
        data = b.CreateByteVector(value.astype(np.float16).tobytes())
        tflite.BufferStart(b)
        tflite.BufferAddData(b, data)
        buffers.append(tflite.BufferEnd(b))
        name_offset = b.CreateString(name)
        tflite.TensorStartShapeVector(b, value.ndim)
        for d in reversed(value.shape):
            b.PrependInt32(d)
        shape = b.EndVector()
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, tflite.TensorType.FLOAT16)
        tflite.TensorAddBuffer(b, i)
        tflite.TensorAddName(b, name_offset)
        tensor_offsets.append(tflite.TensorEnd(b))

    def vector(start, items):
        start(b, len(items))
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    all_tensors = vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, all_tensors)
    graph = tflite.SubGraphEnd(b)
    graphs = vector(tflite.ModelStartSubgraphsVector, [graph])
    all_buffers = vector(tflite.ModelStartBuffersVector, buffers)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddSubgraphs(b, graphs)
    tflite.ModelAddBuffers(b, all_buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    path.write_bytes(b.Output())


def test_tiny_maps_rgb_to_one_logit_channel_at_the_inputs_size():
    net = create_model("tiny").eval()
    with torch.inference_mode():
        assert net(torch.rand(2, 3, 48, 80)).shape == (2, 1, 48, 80)  # multiples of 16, not of 32


def test_from_tflite_puts_every_tensor_where_it_belongs(tmp_path):
    from goselfies.training.from_tflite import LOGIT_SCALE, main

    torch.manual_seed(0)
    source = create_model("tiny").eval()
    for p in source.parameters():  # float16 exactly: the file stores float16
        p.data = p.data.half().float()
    _write_tflite(_tflite_tensors(source), tmp_path / "model.tflite")
    assert main([str(tmp_path / "model.tflite"), "-o", str(tmp_path / "tiny.safetensors")]) == 0
    converted = create_model("tiny", weights=tmp_path / "tiny.safetensors").eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        want = source(x)
        assert want.std() > 0.01  # not a constant
        assert torch.allclose(converted(x) * LOGIT_SCALE, want, atol=1e-4)  # the same mask, logits scaled down


def test_from_tflite_says_in_one_line_what_is_wrong(tmp_path, capsys):
    from goselfies.training.from_tflite import main

    torch.manual_seed(0)
    tensors = _tflite_tensors(create_model("tiny"))
    _write_tflite(tensors, tmp_path / "good.tflite")
    del tensors["conv2d_5/Kernel"]
    _write_tflite(tensors, tmp_path / "other.tflite")
    (tmp_path / "text.tflite").write_text("not a model")
    for argv, needle in (([str(tmp_path / "missing.tflite")], "cannot read"),
                         ([str(tmp_path / "text.tflite")], "not a TFLite model"),
                         ([str(tmp_path / "other.tflite")], "no tensor conv2d_5/Kernel"),
                         ([str(tmp_path / "good.tflite"), "-o", str(tmp_path)], "cannot write")):
        out = argv[-1] if "-o" in argv else str(tmp_path / "out.safetensors")
        assert main([*argv[:1], "-o", out]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("python -m goselfies.training.from_tflite: error:"), err
        assert needle in err
    assert not (tmp_path / "out.safetensors").exists()


def test_converted_mediapipe_model_gives_mediapipes_masks(data_dir, tmp_path):
    """Where MediaPipe is installed: its own file, converted, segments as MediaPipe does (its 256x256 input, the
    picture squeezed onto it; MediaPipe's own resize differs a little), its logits scaled back."""
    from goselfies.engine.mediapipe_selfie import MediaPipeSelfie, mediapipe_available
    from goselfies.training.from_tflite import LOGIT_SCALE, main

    if not mediapipe_available():
        pytest.skip("mediapipe is not installed (pip install '.[mediapipe]')")
    assert main(["-o", str(tmp_path / "tiny.safetensors")]) == 0
    net = create_model("tiny", weights=tmp_path / "tiny.safetensors").eval()
    reference = MediaPipeSelfie("general")
    for stem in ("00002", "00210", "00417"):
        img = cv2.imread(str(data_dir / "eg1800/test/images" / f"{stem}.jpg"))
        x = cv2.resize(img, (256, 256), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].astype(np.float32) / 255
        with torch.inference_mode():
            logits = net(torch.from_numpy(x.copy()).permute(2, 0, 1)[None]) * LOGIT_SCALE  # MediaPipe's own
            ours = torch.sigmoid(logits)[0, 0].numpy()
        ours = cv2.resize(ours, (img.shape[1], img.shape[0]))
        theirs = reference(img)
        assert np.abs(ours - theirs).mean() < 0.01
        assert ((ours > 0.5) == (theirs > 0.5)).mean() > 0.985


def test_the_live_default_is_tiny_squeezed_and_scores_real_people(three_people, tmp_path, capsys):
    """A live session on a CPU loads the shipped tiny (``evaluate --live`` with no --model says so), every frame
    squeezed onto 256 x 256, and its mattes are real masks of real people (measured on these three: IoU 0.932 / 0.928 /
    0.978, a portrait and two people standing back)."""
    import json

    from goselfies.cli import main
    from goselfies.live.session import load_segmenter
    from goselfies.live.settings import LiveSettings

    seg = load_segmenter(LiveSettings(backend="onnx"))
    assert seg.model_name == "tiny" and seg.geometry(480, 640) == (256, 256, 256, 256) and seg.closer_side == 256
    argv = ["evaluate", "--data", str(three_people), "--live", "--backend", "onnx", "--json", str(tmp_path / "t.json")]
    assert main(argv) == 0
    capsys.readouterr()
    result = json.loads((tmp_path / "t.json").read_text())
    assert result["model"] == "tiny" and result["engine"] == "tiny (onnx, cpu) at 256 px"
    assert min(r["iou"] for r in result["per_image"].values()) > 0.9, result["per_image"]


def test_sharpen_multiplies_the_logits_and_keeps_the_mask(tmp_path, capsys):
    from goselfies.engine.weights import read_metadata, save_weights
    from goselfies.training.sharpen import main

    torch.manual_seed(0)
    net = create_model("tiny").eval()
    save_weights(net, tmp_path / "w.safetensors", "tiny", {"size": 256}, fp16=False)
    assert main([str(tmp_path / "w.safetensors"), "--factor", "8", "-o", str(tmp_path / "s.safetensors")]) == 0
    sharp = create_model("tiny", weights=tmp_path / "s.safetensors").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        before, after = net(x), sharp(x)
    assert before.std() > 0.01  # not a constant
    assert torch.allclose(after, 8 * before, rtol=1e-2, atol=1e-3)  # fp16 on disk
    meta = read_metadata(tmp_path / "s.safetensors")
    assert meta["sharpened"] == 8 and meta["size"] == 256
    capsys.readouterr()
    for argv, needle in ((["--factor", "0"], "--factor must be above 0"),
                         (["--factor", "2", "-o", str(tmp_path)], "cannot write")):
        out = [] if "-o" in argv else ["-o", str(tmp_path / "x.safetensors")]
        assert main([str(tmp_path / "w.safetensors"), *argv, *out]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    assert not (tmp_path / "x.safetensors").exists()


def test_tinys_export_keeps_onnx_runtimes_blocked_layout(tmp_path):
    """``onnx_file.tidy``: the export's same-padding Pads become the Convs' own padding and its squeeze-excite means
    GlobalAveragePools (ONNX Runtime's NCHWc layout runs both in place), and the file gives the network's answer at
    any size; the shipped file is such an export."""
    import onnx

    from goselfies.engine.onnx_file import export_weights
    from goselfies.engine.runners.onnx import make_session
    from goselfies.paths import MODEL_FILES

    out = export_weights("tiny", MODEL_FILES / "tiny.safetensors", tmp_path / "tiny.onnx", fp16_weights=True)
    for path in (out, MODEL_FILES / "tiny.onnx"):
        ops = {n.op_type for n in onnx.load(str(path)).graph.node}
        assert "GlobalAveragePool" in ops and not ops & {"Pad", "ReduceMean"}, path
    net = create_model("tiny", weights=MODEL_FILES / "tiny.safetensors").eval()
    session = make_session(out)
    for shape in ((1, 3, 256, 256), (2, 3, 224, 320)):
        x = torch.rand(shape)
        with torch.no_grad():
            want = torch.sigmoid(net(x)).numpy()
        np.testing.assert_allclose(session.run(["mask"], {"image": x.numpy()})[0], want, atol=1e-4)
