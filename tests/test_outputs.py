"""Every output that cannot be written is one line naming the path and the reason, exit status 1, and
nothing left behind: a read-only file system (a real read-only mount the test makes), a place where no
folder can be made (/proc), a file standing where a folder should be. As root a ``chmod`` stops nothing,
so the read-only case is a mount."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from goselfies.cli import main

PHOTO = "eg1800/test/images/00002.jpg"
CLIP = "videos/webcam_headphones_640x480.mp4"


@pytest.fixture(scope="module")
def read_only(tmp_path_factory) -> Path:
    """A folder on a read-only tmpfs (with one sub-folder in it), mounted for this module."""
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("making a read-only mount needs root (CI runs as root)")
    ro = tmp_path_factory.mktemp("ro")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(ro)], check=True)
    try:
        (ro / "existing").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        yield ro
    finally:
        subprocess.run(["umount", str(ro)], check=True)


@pytest.fixture
def file_in_the_way(tmp_path) -> Path:
    f = tmp_path / "notimage.jpg"
    f.write_bytes(b"not a folder")
    return f


def one_line(capsys, command: str, *argv) -> str:
    rc = main([command, *map(str, argv)])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.startswith(f"goselfies {command}: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_the_read_only_mount_really_refuses_writes(read_only):
    with pytest.raises(OSError, match="Read-only file system"):
        (read_only / "x").write_bytes(b"")


@pytest.mark.parametrize("where", ["{ro}", "{ro}/existing", "{ro}/sub", "{ro}/sub/deeper"])
def test_photo_into_a_read_only_folder(data_dir, read_only, capsys, where):
    out = where.format(ro=read_only)
    line = one_line(capsys, "photo", data_dir / PHOTO, "-o", out)
    assert f"{out}: cannot write (read-only file system)" in line, line
    assert sorted(p.name for p in read_only.iterdir()) == ["existing"] and not any((read_only / "existing").iterdir())


@pytest.mark.parametrize("target", ["out.mp4", "existing/out.webm", "sub/out.mp4", "seq_%05d.png", "frames/",
                                    "existing/"])
def test_video_into_a_read_only_folder(data_dir, read_only, capsys, target):
    line = one_line(capsys, "video", data_dir / CLIP, "-o", f"{read_only}/{target}")
    assert "cannot write (read-only file system)" in line and str(read_only) in line, line
    assert sorted(p.name for p in read_only.iterdir()) == ["existing"] and not any((read_only / "existing").iterdir())


@pytest.mark.parametrize("command, target", [("photo", "/proc/outdir"), ("photo", "/proc/outdir/sub"),
                                             ("video", "/proc/outdir/out.mp4"), ("video", "/proc/outdir/seq_%05d.png"),
                                             ("demo", "/proc/outdir")])
def test_a_folder_that_cannot_exist(data_dir, capsys, command, target):
    inputs = {"photo": [data_dir / PHOTO], "video": [data_dir / CLIP], "demo": []}[command]
    line = one_line(capsys, command, *inputs, "-o", target)
    assert line.split(": error: ")[1].startswith("/proc/outdir") and ": cannot write (" in line, line
    assert not Path("/proc/outdir").exists()


@pytest.mark.parametrize("command, target", [("photo", "{f}"), ("photo", "{f}/sub"), ("video", "{f}/out.mp4"),
                                             ("video", "{f}/deeper/out.mp4"), ("video", "{f}/seq_%05d.png")])
def test_a_file_where_a_folder_should_be(data_dir, file_in_the_way, capsys, command, target):
    inputs = {"photo": [data_dir / PHOTO], "video": [data_dir / CLIP]}[command]
    line = one_line(capsys, command, *inputs, "-o", target.format(f=file_in_the_way))
    assert str(file_in_the_way) in line and ("a file stands where a folder is needed" in line
                                             or "is a file; a PNG sequence needs a folder" in line), line
    assert sorted(p.name for p in file_in_the_way.parent.iterdir()) == ["notimage.jpg"]
    assert file_in_the_way.read_bytes() == b"not a folder"
