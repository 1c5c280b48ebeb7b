"""Issue 28 (CLI part of the bad-input audit): every user error of ``shdd-geo`` is one line on stderr.

Table-driven: each case is an argv (``{d}`` is a folder of prepared inputs), the
exit code (2: a bad argument or input, found before any model is loaded;
1: a failure while working) and a word the message must contain (the
argument it names).  ``main`` is called in-process; the no-traceback and
``--debug`` behaviour of the real command is checked in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shdd_geo.cli import main


def make_inputs(d: Path) -> Path:
    """Good and bad input files for the cases below (also used to count the cases by hand)."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.save(d / "emb.npy", rng.normal(size=(20, 3)).astype(np.float32))
    np.save(d / "coords.npy", np.column_stack([rng.uniform(-60, 60, 20), rng.uniform(-180, 180, 20)]))
    np.save(d / "coords1d.npy", np.zeros(20))
    np.save(d / "coords_short.npy", np.zeros((7, 2)))
    np.save(d / "coords_bad_lat.npy", np.full((20, 2), 91.0))
    np.save(d / "emb_complex.npy", np.zeros((20, 3), np.complex64))
    np.save(d / "emb1d.npy", np.zeros(20, np.float32))
    (d / "corrupt.npy").write_bytes(b"\x93NUMPY garbage, not an array")
    (d / "nolatlon.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    (d / "names.txt").write_text("Kyoto\nLyon\n", encoding="utf-8")
    (d / "empty.txt").write_text("\n  \n", encoding="utf-8")
    (d / "latin1.txt").write_bytes("Zürich\nMálaga\n".encode("latin-1"))
    (d / "afile").write_text("not a folder", encoding="utf-8")
    (d / "not_a_model.safetensors").write_bytes(b"\x00" * 64)
    (d / "not_netcdf.nc").write_text("plain text", encoding="utf-8")
    (d / "folder").mkdir(exist_ok=True)
    import shdd_geo as sg

    sg.SphericalField.uniform(2).to_netcdf(d / "u.nc")
    return d


def read_only_dir(d: Path) -> str:
    """An existing folder no file can be created in (root ignores modes: /sys there)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not Path("/sys").is_dir():
            pytest.skip("running as root without /sys: no read-only folder to test")
        return "/sys"
    ro = d / "readonly"
    ro.mkdir(exist_ok=True)
    ro.chmod(0o555)
    return str(ro)


TRAIN = ["train", "--embeddings", "{d}/emb.npy", "--coords", "{d}/coords.npy", "--out", "{d}/m.safetensors"]
EVAL = ["evaluate", "--model", "{d}/not_a_model.safetensors", "--embeddings", "{d}/emb.npy",
        "--coords", "{d}/coords.npy"]
CAL = ["calibrate", "--model", "{d}/not_a_model.safetensors", "--embeddings", "{d}/emb.npy",
       "--coords", "{d}/coords.npy", "--out", "{d}/cal.safetensors"]


def _with(base, **changes):
    argv = list(base)
    for opt, value in changes.items():
        flag = "--" + opt.replace("_", "-")
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


# (id, argv, exit code, text the one-line message contains)
CASES = [
    # locate: names
    ("locate-empty", ["locate", ""], 2, "name 1"),
    ("locate-whitespace", ["locate", "Kyoto", "   "], 2, "name 2"),
    ("locate-dotdot", ["locate", ".."], 2, "letter or digit"),
    ("locate-punct", ["locate", "!?"], 2, "letter or digit"),
    ("locate-nothing", ["locate"], 2, "--input"),
    ("locate-input-missing", ["locate", "--input", "{d}/missing.txt"], 2, "--input"),
    ("locate-input-folder", ["locate", "--input", "{d}/folder"], 2, "--input"),
    ("locate-input-latin1", ["locate", "--input", "{d}/latin1.txt"], 2, "--input"),
    ("locate-input-empty", ["locate", "--input", "{d}/empty.txt"], 2, "--input"),
    # locate: options
    ("locate-model-nope", ["locate", "x", "--model", "nope"], 2, "--model"),
    ("locate-model-kind", ["locate", "x", "--model", "bluemarble-effnet"], 2, "--model"),
    ("locate-nside-33", ["locate", "Kyoto", "--nside", "33"], 2, "--nside"),
    ("locate-nside-0", ["locate", "Kyoto", "--nside", "0"], 2, "--nside"),
    ("locate-nside-text", ["locate", "Kyoto", "--nside", "big"], 2, "--nside"),
    ("locate-k-0", ["locate", "Kyoto", "--k", "0"], 2, "--k"),
    ("locate-k-text", ["locate", "Kyoto", "--k", "abc"], 2, "--k"),
    ("locate-samples-0", ["locate", "Kyoto", "--samples", "0"], 2, "--samples"),
    ("locate-seed-negative", ["locate", "Kyoto", "--seed", "-1"], 2, "--seed"),
    ("locate-format-pdf", ["locate", "Kyoto", "--format", "pdf"], 2, "--format"),
    ("locate-format-empty", ["locate", "Kyoto", "--format", ","], 2, "--format"),
    ("locate-min-mass-2", ["locate", "Kyoto", "--min-mass", "2"], 2, "--min-mass"),
    ("locate-min-mass-nan", ["locate", "Kyoto", "--min-mass", "nan"], 2, "--min-mass"),
    ("locate-prior-weight-1", ["locate", "Kyoto", "--prior-weight", "1"], 2, "--prior-weight"),
    ("locate-namesake-weight", ["locate", "Kyoto", "--namesake-weight", "-0.1"], 2, "--namesake-weight"),
    ("locate-snap-km-0", ["locate", "Kyoto", "--snap-km", "0"], 2, "--snap-km"),
    ("locate-by-country", ["locate", "Kyoto", "--by-country", "-1"], 2, "--by-country"),
    ("locate-out-file", ["locate", "Kyoto", "--out", "{d}/afile"], 2, "--out"),
    ("locate-out-under-file", ["locate", "Kyoto", "--out", "{d}/afile/sub"], 2, "--out"),
    ("locate-out-read-only", ["locate", "Kyoto", "--out", "{readonly}/shdd_geo_out"], 2, "cannot write"),
    ("locate-unknown-option", ["locate", "Kyoto", "--bogus"], 2, "--bogus"),
    # locate-image
    ("image-missing", ["locate-image", "{d}/missing.png"], 2, "image"),
    ("image-nothing", ["locate-image"], 2, "--input"),
    ("image-model-kind", ["locate-image", "{d}/afile", "--model", "geonames-minilm"], 2, "--model"),
    # train
    ("train-out-folder", _with(TRAIN, out="{d}/folder"), 2, "--out"),
    ("train-out-no-parent", _with(TRAIN, out="{d}/nope/m.safetensors"), 2, "--out"),
    ("train-out-read-only", _with(TRAIN, out="{readonly}/m.safetensors"), 2, "cannot write"),
    ("train-embeddings-missing", _with(TRAIN, embeddings="{d}/missing.npy"), 2, "--embeddings"),
    ("train-embeddings-corrupt", _with(TRAIN, embeddings="{d}/corrupt.npy"), 2, "--embeddings"),
    ("train-embeddings-1d", _with(TRAIN, embeddings="{d}/emb1d.npy"), 2, "--embeddings"),
    ("train-embeddings-complex", _with(TRAIN, embeddings="{d}/emb_complex.npy"), 2, "--embeddings"),
    ("train-coords-1d", _with(TRAIN, coords="{d}/coords1d.npy"), 2, "--coords"),
    ("train-coords-rows", _with(TRAIN, coords="{d}/coords_short.npy"), 2, "--coords"),
    ("train-coords-lat-91", _with(TRAIN, coords="{d}/coords_bad_lat.npy"), 2, "--coords"),
    ("train-coords-columns", _with(TRAIN, coords="{d}/nolatlon.csv"), 2, "--coords"),
    ("train-coords-corrupt", _with(TRAIN, coords="{d}/latin1.txt"), 2, "--coords"),
    ("train-epochs-0", _with(TRAIN, epochs="0"), 2, "--epochs"),
    ("train-lr-negative", _with(TRAIN, lr="-1"), 2, "--lr"),
    ("train-lr-nan", _with(TRAIN, lr="nan"), 2, "--lr"),
    ("train-L-0", _with(TRAIN, L="0"), 2, "--L"),
    ("train-batch-size-0", _with(TRAIN, batch_size="0"), 2, "--batch-size"),
    ("train-loss", _with(TRAIN, loss="huber"), 2, "--loss"),
    ("train-resume-missing", _with(TRAIN, resume="{d}/missing.ckpt"), 2, "--resume"),
    ("train-init-from-missing", _with(TRAIN, init_from="{d}/missing.safetensors"), 2, "--init-from"),
    ("train-checkpoint-folder", _with(TRAIN, checkpoint="{d}/folder"), 2, "--checkpoint"),
    ("train-missing-required", ["train", "--embeddings", "{d}/emb.npy"], 2, "--coords"),
    # evaluate, calibrate
    ("evaluate-model-missing", _with(EVAL, model="{d}/missing.safetensors"), 2, "--model"),
    ("evaluate-model-corrupt", EVAL, 1, "not_a_model"),
    ("evaluate-nside", _with(EVAL, nside="3"), 2, "--nside"),
    ("evaluate-point", _with(EVAL, point="mean"), 2, "--point"),
    ("calibrate-out-folder", _with(CAL, out="{d}/folder"), 2, "--out"),
    ("calibrate-prior-coords", _with(CAL, prior_coords="{d}/coords1d.npy"), 2, "--prior-coords"),
    ("calibrate-coverage", _with(CAL, min_coverage="1.5"), 2, "--min-coverage"),
    # embed
    ("embed-neither", ["embed", "--out", "{d}/e.npy"], 2, "--texts"),
    ("embed-texts-latin1", ["embed", "--texts", "{d}/latin1.txt", "--out", "{d}/e.npy"], 2, "--texts"),
    ("embed-texts-empty", ["embed", "--texts", "{d}/empty.txt", "--out", "{d}/e.npy"], 2, "--texts"),
    ("embed-out-folder", ["embed", "--texts", "{d}/names.txt", "--out", "{d}/folder"], 2, "--out"),
    ("embed-images-missing", ["embed", "--images", "{d}/nope", "--out", "{d}/e.npy"], 2, "--images"),
    ("embed-batch-size", ["embed", "--texts", "{d}/names.txt", "--out", "{d}/e.npy", "--batch-size", "0"], 2,
     "--batch-size"),
    # export
    ("export-missing", ["export", "/nonexistent.nc"], 2, "field"),
    ("export-folder", ["export", "{d}/folder"], 2, "field"),
    ("export-not-netcdf", ["export", "{d}/not_netcdf.nc", "--out", "{d}/o"], 1, "not_netcdf"),
    ("export-out-file", ["export", "{d}/u.nc", "--out", "{d}/afile"], 2, "--out"),
    ("export-format", ["export", "{d}/u.nc", "--out", "{d}/o", "--format", "tif,xyz"], 2, "--format"),
    # the command itself
    ("no-command", [], 2, "COMMAND"),
    ("unknown-command", ["bogus"], 2, "bogus"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("cli_errors"))


def _argv(argv, d: Path) -> list[str]:
    ro = read_only_dir(d) if any("{readonly}" in a for a in argv) else ""
    return [a.format(d=d, readonly=ro) for a in argv]


def test_the_table_covers_the_audit():
    assert len(CASES) >= 46 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("argv, code, needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_error_is_one_line(inputs, capsys, monkeypatch, argv, code, needle):
    import shdd_geo.pretrained as pretrained

    def no_model(*args, **kwargs):  # every check must happen before a model is loaded
        raise AssertionError("a model was loaded before the arguments were checked")

    monkeypatch.setattr(pretrained, "load", no_model)
    before = sorted(p.name for p in inputs.iterdir())
    assert main(_argv(argv, inputs)) == code
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("shdd-geo"), out.err
    assert ": error: " in lines[0] and needle in lines[0] and "Traceback" not in out.err
    assert sorted(p.name for p in inputs.iterdir()) == before  # nothing written


def _run(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "shdd_geo.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_the_real_command_prints_no_traceback_unless_debug(tmp_path):
    r = _run(["locate", "Kyoto", "--nside", "33"], tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--nside" in r.stderr and "Traceback" not in r.stderr
    r = _run(["export", "/nonexistent.nc", "--debug"], tmp_path)
    assert r.returncode != 0 and "Traceback" in r.stderr and "/nonexistent.nc" in r.stderr


def test_version_help_defaults_and_info_json(capsys):
    import json

    import shdd_geo

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"shdd-geo {shdd_geo.__version__}"
    assert main(["locate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 64)", "(default: geonames-minilm)", "(default: png,nc,geojson)", "(default: 0)"):
        assert shown in text
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)  # one object: json.loads fails on text around it
    assert info["version"] == shdd_geo.__version__ and info["models"]["geonames-minilm"]["inputs"] == "text"
