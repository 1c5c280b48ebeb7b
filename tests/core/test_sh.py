"""Real spherical harmonics: addition theorem, orthonormality, scipy and healpy agreement."""

import math

import numpy as np
import pytest

from shdd_geo.coords import latlon_to_thetaphi, latlon_to_xyz, thetaphi_to_latlon
from shdd_geo.sh import (
    alm_to_real,
    degree_from_dim,
    degree_order,
    n_coeffs,
    real_to_alm,
    sh_basis,
    sh_basis_xyz,
    sh_index,
    zonal_kernel,
)


def _special_points(rng, n):
    lat = np.r_[90.0, -90.0, 89.9999999, -89.9999, 0.0, 0.0, rng.uniform(-90, 90, n)]
    lon = np.r_[0.0, 123.0, -180.0, 179.99999, -180.0, 179.999999999, rng.uniform(-180, 180, n)]
    return lat, lon


@pytest.mark.parametrize("L", [0, 1, 5, 47, 200])
def test_addition_theorem(L):
    rng = np.random.default_rng(L)
    lat1, lon1 = _special_points(rng, 200)
    lat2, lon2 = _special_points(rng, 200)
    lat2 = lat2[::-1].copy()
    lon2 = lon2[::-1].copy()
    lhs = np.sum(sh_basis(lat1, lon1, L) * sh_basis(lat2, lon2, L), axis=1)
    cos_g = np.clip(np.sum(latlon_to_xyz(lat1, lon1) * latlon_to_xyz(lat2, lon2), 1), -1, 1)
    rhs = zonal_kernel(cos_g, L)
    # Values reach (L+1)^2/(4 pi) ~ 3215 at L = 200: 1e-9 absolute is ~3e-13 relative.
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-9)


def test_same_point_gives_peak_value():
    L = 100
    lat, lon = np.array([12.3, -90.0, 90.0]), np.array([45.6, 0.0, 17.0])
    Y = sh_basis(lat, lon, L)
    np.testing.assert_allclose((Y * Y).sum(1), (L + 1) ** 2 / (4 * math.pi), rtol=1e-12)


@pytest.mark.parametrize("L", [48, pytest.param(100, marks=pytest.mark.slow)])
def test_orthonormality_by_quadrature(L):
    nlat = L + 2
    x, wx = np.polynomial.legendre.leggauss(nlat)
    nphi = 2 * L + 2
    phi = 2 * math.pi * np.arange(nphi) / nphi
    theta = np.arccos(x)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    lat, lon = thetaphi_to_latlon(th.ravel(), ph.ravel())
    w = np.repeat(wx, nphi) * (2 * math.pi / nphi)
    Y = sh_basis(lat, lon, L)
    gram = (Y * w[:, None]).T @ Y
    np.testing.assert_allclose(gram, np.eye(n_coeffs(L)), atol=1e-10)


def test_matches_scipy_real_form():
    from scipy.special import sph_harm_y

    L = 30
    rng = np.random.default_rng(1)
    lat, lon = _special_points(rng, 40)
    theta, phi = latlon_to_thetaphi(lat, lon)
    Y = sh_basis(lat, lon, L)
    for l in range(L + 1):
        for m in range(-l, l + 1):
            if m == 0:
                ref = sph_harm_y(l, 0, theta, phi).real
            elif m > 0:
                ref = math.sqrt(2) * (-1) ** m * sph_harm_y(l, m, theta, phi).real
            else:
                ref = math.sqrt(2) * (-1) ** m * sph_harm_y(l, -m, theta, phi).imag
            np.testing.assert_allclose(Y[:, sh_index(l, m)], ref, atol=1e-10, err_msg=f"l={l}, m={m}")


def test_low_degree_closed_forms():
    lat, lon = np.array([10.0, -35.0]), np.array([20.0, 170.0])
    xyz = latlon_to_xyz(lat, lon)
    Y = sh_basis(lat, lon, 1)
    c = math.sqrt(3 / (4 * math.pi))
    np.testing.assert_allclose(Y[:, 0], 1 / math.sqrt(4 * math.pi))
    np.testing.assert_allclose(Y[:, 1], c * xyz[:, 1])  # m = -1 ~ y
    np.testing.assert_allclose(Y[:, 2], c * xyz[:, 2])  # m = 0 ~ z
    np.testing.assert_allclose(Y[:, 3], c * xyz[:, 0])  # m = 1 ~ x


def test_healpy_bridge_synthesis_matches_direct():
    hp = pytest.importorskip("healpy")
    rng = np.random.default_rng(2)
    L, nside = 23, 32
    c = rng.normal(size=(3, n_coeffs(L)))
    theta, phi = hp.pix2ang(nside, np.arange(hp.nside2npix(nside)))
    lat, lon = thetaphi_to_latlon(theta, phi)
    direct = sh_basis(lat, lon, L) @ c.T
    for i in range(3):
        m = hp.alm2map(real_to_alm(c[i], L), nside, lmax=L)
        np.testing.assert_allclose(m, direct[:, i], atol=1e-9)
    np.testing.assert_allclose(alm_to_real(real_to_alm(c)), c, atol=1e-14)


def test_healpy_analysis_recovers_coefficients():
    hp = pytest.importorskip("healpy")
    rng = np.random.default_rng(3)
    L, nside = 8, 64
    c = rng.normal(size=n_coeffs(L))
    m = hp.alm2map(real_to_alm(c), nside, lmax=L)
    back = alm_to_real(hp.map2alm(m, lmax=L, iter=3))
    np.testing.assert_allclose(back, c, atol=1e-6)


def test_xyz_entry_point_matches_latlon():
    rng = np.random.default_rng(4)
    lat, lon = _special_points(rng, 50)
    xyz = latlon_to_xyz(lat, lon) * rng.uniform(0.5, 3, (lat.size, 1))
    np.testing.assert_allclose(sh_basis_xyz(xyz, 20), sh_basis(lat, lon, 20), atol=1e-12)


def test_float32_path_accuracy():
    rng = np.random.default_rng(5)
    lat, lon = _special_points(rng, 2000)
    lat32, lon32 = lat.astype(np.float32), lon.astype(np.float32)
    ref = sh_basis(lat32.astype(np.float64), lon32.astype(np.float64), 47)
    Y32 = sh_basis(lat32, lon32, 47, dtype=np.float32)
    assert Y32.dtype == np.float32
    scale = np.abs(ref).max()
    assert np.abs(Y32 - ref).max() / scale < 1e-4


def test_torch_matches_numpy_and_has_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    lat, lon = _special_points(rng, 300)
    ref = sh_basis(lat, lon, 31)
    y64 = sh_basis(torch.tensor(lat), torch.tensor(lon), 31)
    np.testing.assert_allclose(y64.numpy(), ref, atol=1e-12)
    lat32 = torch.tensor(lat, dtype=torch.float32)
    lon32 = torch.tensor(lon, dtype=torch.float32)
    y32 = sh_basis(lat32, lon32, 31)
    assert y32.dtype == torch.float32
    ref32 = sh_basis(lat32.double().numpy(), lon32.double().numpy(), 31)
    np.testing.assert_allclose(y32.numpy(), ref32, rtol=1e-5, atol=1e-5 * np.abs(ref32).max())
    # Gradient of f(p) = E(q) . Y(p) w.r.t. p vanishes at p = q (the peak).
    q = sh_basis(np.array([30.0]), np.array([40.0]), 15)
    lat_t = torch.tensor([30.0], dtype=torch.float64, requires_grad=True)
    lon_t = torch.tensor([40.0], dtype=torch.float64, requires_grad=True)
    f = (sh_basis(lat_t, lon_t, 15) @ torch.tensor(q[0])).sum()
    f.backward()
    assert abs(lat_t.grad.item()) < 1e-8 and abs(lon_t.grad.item()) < 1e-8
    # ... and does not vanish elsewhere.
    lat_t = torch.tensor([31.0], dtype=torch.float64, requires_grad=True)
    (sh_basis(lat_t, lon_t.detach(), 15) @ torch.tensor(q[0])).sum().backward()
    assert lat_t.grad.item() < -1e-3


def test_index_helpers():
    ls, ms = degree_order(3)
    np.testing.assert_array_equal(sh_index(ls, ms), np.arange(16))
    assert degree_from_dim(2304) == 47
    with pytest.raises(ValueError, match="perfect square"):
        degree_from_dim(10)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(lat=[np.nan], lon=[0.0], L=3), ValueError, "`lat` must be finite"),
        (dict(lat=[0.0], lon=[np.inf], L=3), ValueError, "`lon` must be finite"),
        (dict(lat=[91.0], lon=[0.0], L=3), ValueError, r"`lat` must be within \[-90, 90\]"),
        (dict(lat=[0.0, 1.0, 2.0], lon=[0.0, 1.0], L=3), ValueError, "same shape"),
        (dict(lat=[0.0], lon=[0.0], L=-1), ValueError, "`L` must be a non-negative integer"),
        (dict(lat=[0.0], lon=[0.0], L=2.5), TypeError, "`L` must be a non-negative integer"),
        (dict(lat=[], lon=[], L=3), ValueError, "empty"),
        (dict(lat="abc", lon=[0.0], L=3), TypeError, "`lat` must be numeric"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sh_basis(**kwargs)


def test_longitude_wraps():
    a = sh_basis([10.0, 10.0], [190.0, -170.0], 10)
    np.testing.assert_allclose(a[0], a[1], atol=1e-12)
    b = sh_basis([10.0], [20.0 + 360.0], 10)
    np.testing.assert_allclose(b, sh_basis([10.0], [20.0], 10), atol=1e-12)


@pytest.mark.parametrize("L", [0, 1, 2, 5, 47, 200])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_kernel_matches_numpy_recurrence(L, dtype):
    """The numba kernel (fast path) against the NumPy recurrence (its brute-force twin)."""
    pytest.importorskip("numba")
    from shdd_geo.sh import _basis_numpy

    lat, lon = _special_points(np.random.default_rng(L), 500)
    la, lo = np.radians(lat), np.radians(lon)
    args = (np.sin(la).astype(dtype), np.cos(la).astype(dtype), lo.astype(dtype), L)
    fast = _basis_numpy(*args, compiled=True)
    slow = _basis_numpy(*args, compiled=False)
    assert fast.dtype == slow.dtype == dtype and fast.shape == slow.shape == (len(lat), (L + 1) ** 2)
    ref = _basis_numpy(*(np.asarray(v, np.float64) for v in args[:3]), L, compiled=False)
    if dtype == np.float64:
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-13 * (L + 1))
    else:  # both float32 paths as close to the float64 values as each other
        scale = np.abs(ref).max()
        assert np.abs(fast - ref).max() <= max(2 * np.abs(slow - ref).max(), 1e-6 * scale)


def test_large_inputs_use_the_compiled_kernel(monkeypatch):
    pytest.importorskip("numba")
    import shdd_geo._sh_numba as kernel
    from shdd_geo import sh

    assert sh._use_compiled()  # compiles (or loads) the kernel before the spy goes in
    calls = []
    real = kernel.basis
    monkeypatch.setattr(kernel, "basis", lambda *a: calls.append(a[3]) or real(*a))
    lat, lon = _special_points(np.random.default_rng(0), 3000)
    monkeypatch.setattr(sh, "_COMPILED_MIN_SIZE", 10**9)
    small = sh.sh_basis(lat, lon, 10)
    assert calls == []
    monkeypatch.setattr(sh, "_COMPILED_MIN_SIZE", 1000)
    big = sh.sh_basis(lat, lon, 10)
    assert calls == [10]
    np.testing.assert_allclose(big, small, rtol=0, atol=1e-13)
    monkeypatch.setenv("SHDD_GEO_NUMBA", "0")
    monkeypatch.setattr(sh, "_COMPILED_OK", None)
    sh.sh_basis(lat, lon, 10)
    assert calls == [10]  # switched off


def test_broken_compiled_kernel_falls_back_with_a_warning(monkeypatch):
    pytest.importorskip("numba")
    import shdd_geo._sh_numba as kernel
    from shdd_geo import sh

    def broken(*args):
        raise RuntimeError("no LLVM today")

    monkeypatch.setattr(kernel, "basis", broken)
    monkeypatch.setattr(sh, "_COMPILED_OK", None)
    monkeypatch.setattr(sh, "_COMPILED_MIN_SIZE", 1000)
    monkeypatch.setattr(sh, "_COMPILED_LOAD_SIZE", 1000)
    lat, lon = _special_points(np.random.default_rng(1), 3000)
    with pytest.warns(RuntimeWarning, match="SHDD_GEO_NUMBA=0"):
        Y = sh.sh_basis(lat, lon, 10)
    monkeypatch.setattr(sh, "_COMPILED_OK", False)
    np.testing.assert_allclose(Y, sh.sh_basis(lat, lon, 10), rtol=0, atol=0)


def _files_under(folder):
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("numba_env", [False, True], ids=["shdd-cache", "NUMBA_CACHE_DIR"])
def test_numba_kernel_cache_never_lands_in_the_package(tmp_path, numba_env):
    """Issue 22: compiling and calling the kernel writes nothing under the package folder."""
    pytest.importorskip("numba")
    import os
    import subprocess
    import sys
    from pathlib import Path

    import shdd_geo

    pkg = Path(shdd_geo.__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(SHDD_GEO_CACHE=str(tmp_path / "sg"), PYTHONDONTWRITEBYTECODE="1")
    if numba_env:
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "nb")
    code = ("import numpy as np, shdd_geo._sh_numba as k, shdd_geo.sh as sh\n"
            "lat = np.linspace(-80, 80, 3000); lon = np.linspace(-170, 170, 3000)\n"
            "assert sh._use_compiled()\n"
            "sh.sh_basis(lat, lon, 30)\n")
    before = _files_under(pkg)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    new = sorted(str(p.relative_to(pkg)) for p in _files_under(pkg) - before)
    assert not new, f"files written into the package: {new}"
    cache = tmp_path / ("nb" if numba_env else "sg/numba")
    assert any(p.suffix == ".nbi" for p in cache.rglob("*")), "no numba index in the cache folder"


def test_small_calls_do_not_load_the_compiled_kernel(monkeypatch):
    """Issue 28: decoding a few samples (2-50 M values) never pays numba's load (time and ~100 MiB)."""
    pytest.importorskip("numba")
    import shdd_geo._sh_numba as kernel
    from shdd_geo import sh

    calls, loads = [], []
    real = kernel.basis
    monkeypatch.setattr(kernel, "basis", lambda *a: calls.append(a[3]) or real(*a))
    monkeypatch.setattr(sh, "_use_compiled", lambda: loads.append(1) or True)
    monkeypatch.setattr(sh, "_COMPILED_OK", None)                      # not loaded yet
    monkeypatch.setattr(sh, "_NUMPY_VALUES", 0)
    monkeypatch.setattr(sh, "_COMPILED_MIN_SIZE", 1000)
    monkeypatch.setattr(sh, "_COMPILED_LOAD_SIZE", 1_000_000)
    lat, lon = _special_points(np.random.default_rng(2), 3000)        # ~3000 * 121 = 363,000 values
    first = sh.sh_basis(lat, lon, 10)
    sh.sh_basis(np.zeros(5), np.zeros(5), 10)                           # small calls do not count
    second = sh.sh_basis(lat, lon, 10)
    assert calls == [] and loads == [] and sh._NUMPY_VALUES == 2 * lat.size * 121
    third = sh.sh_basis(lat, lon, 10)
    assert calls == [10] and loads == [1]                               # batch work: loads and uses it
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(third, first, rtol=0, atol=1e-13)
    monkeypatch.setattr(sh, "_COMPILED_OK", True)                      # once loaded: from the min size
    monkeypatch.setattr(sh, "_COMPILED_LOAD_SIZE", 10**12)
    sh.sh_basis(lat, lon, 10)
    assert calls == [10, 10]
