"""shdd_geo._atomic: permissions, symbolic links, stale temporary files, failures."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from shdd_geo._atomic import atomic_write, default_file_mode


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        target = tmp_path / "a.bin"
        atomic_write(target, lambda t: open(t, "wb").write(b"x"))
        assert _mode(target) == 0o666 & ~umask == default_file_mode()
        plain = tmp_path / "plain.bin"  # what an ordinary open() gives: the same
        plain.write_bytes(b"x")
        assert _mode(target) == _mode(plain)
    finally:
        os.umask(old)


def test_replacing_keeps_the_old_files_mode(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write(target, lambda t: open(t, "w").write("new"))
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_a_symlink_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.png"
    link.symlink_to(victim)
    atomic_write(link, lambda t: open(t, "w").write("new"))
    assert victim.read_text() == "keep me"
    assert not link.is_symlink() and link.read_text() == "new"


def test_failure_leaves_the_target_and_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def boom(tmp):
        open(tmp, "w").write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = tmp_path / f".a.nc.{dead}.abc123.tmp"
    stale.write_bytes(b"left by a SIGKILL")
    alive = tmp_path / f".a.nc.{os.getppid()}.def456.tmp"  # a running process: may still be writing
    alive.write_bytes(b"in progress")
    other = tmp_path / f".b.nc.{dead}.xyz.tmp"  # another file's temp: not ours to judge now
    other.write_bytes(b"x")
    atomic_write(tmp_path / "a.nc", lambda t: open(t, "wb").write(b"ok"))
    assert not stale.exists() and alive.exists() and other.exists()


def test_bad_paths(tmp_path):
    with pytest.raises(TypeError, match="`path`"):
        atomic_write(3, lambda t: None)
    with pytest.raises(IsADirectoryError, match="directory"):
        atomic_write(tmp_path, lambda t: None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "no" / "a.txt", lambda t: None)


def test_stale_temp_folders_of_dead_writers_are_removed(tmp_path):
    """GeoTIFF and GeoPackage writers work in a folder beside the file (temp_dir_beside)."""
    code = ("import os, sys, tempfile\n"
            "from shdd_geo._atomic import temp_dir_beside\n"
            "tmp = os.path.join(sys.argv[1], f'.a.gpkg.{os.getpid()}.x1.tmp')\n"
            "d = temp_dir_beside(tmp)\n"
            "open(os.path.join(d.name, 'a.gpkg'), 'wb').write(b'half')\n"
            "os._exit(0)  # no clean-up, as after a SIGKILL\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    (left,) = [p for p in tmp_path.iterdir()]
    assert left.is_dir() and left.name.startswith(".a.gpkg.") and left.name.endswith(".tmp")
    atomic_write(tmp_path / "a.gpkg", lambda t: open(t, "wb").write(b"ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gpkg"]
