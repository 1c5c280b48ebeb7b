"""shdd_geo._validation: the declarative constraints and the shared input checks."""

from __future__ import annotations

import itertools
import math
from numbers import Integral, Real

import numpy as np
import pytest

from shdd_geo import _validation as v
from shdd_geo._validation import Interval, Options, StrOptions, TupleOf, validate_params


@pytest.mark.parametrize("closed", ["both", "left", "right", "neither"])
@pytest.mark.parametrize("bounds", [(0, 1), (None, 1), (0, None), (None, None), (-2.5, 3)])
def test_interval_matches_brute_force_comparisons(closed, bounds):
    lo, hi = bounds
    c = Interval(Real, lo, hi, closed=closed)
    for x in np.linspace(-4, 4, 33).tolist() + [lo, hi]:
        if x is None:
            continue
        ok_lo = lo is None or (x >= lo if closed in ("both", "left") else x > lo)
        ok_hi = hi is None or (x <= hi if closed in ("both", "right") else x < hi)
        assert c.is_satisfied_by(x) == (ok_lo and ok_hi), (x, c)


def test_interval_types_bool_nan_inf():
    ints, reals = Interval(Integral, 0, None), Interval(Real, None, None)
    assert ints.is_satisfied_by(np.int64(3)) and not ints.is_satisfied_by(3.0)
    assert not ints.is_satisfied_by(True) and not reals.is_satisfied_by(False)
    assert reals.is_satisfied_by(np.float32(1.5)) and reals.is_satisfied_by(2)
    assert not reals.is_satisfied_by(math.nan) and not reals.is_satisfied_by(math.inf)
    assert str(Interval(Integral, 1, 200, closed="both")) == "an int in the range [1, 200]"
    assert str(Interval(Real, 0, None, closed="neither")) == "a real number in the range (0, inf)"
    with pytest.raises(ValueError, match="`closed`"):
        Interval(Real, 0, 1, closed="open")


def test_options_and_tuples():
    assert StrOptions({"kl", "l1"}).is_satisfied_by("kl") and not StrOptions({"kl"}).is_satisfied_by(["kl"])
    assert Options(Real, {0.5}).is_satisfied_by(0.5) and not Options(Real, {0.5}).is_satisfied_by(True)
    t = TupleOf(Interval(Real, 0, 1, closed="left"), length=2)
    assert t.is_satisfied_by((0.9, 0.99)) and t.is_satisfied_by([0.0, 0.5])
    assert not t.is_satisfied_by((0.9,)) and not t.is_satisfied_by((0.9, 1.0)) and not t.is_satisfied_by("ab")
    assert not TupleOf(Interval(Integral, 1, None)).is_satisfied_by(())


CONSTRAINTS = {
    "L": [Interval(Integral, 1, 200, closed="both")],
    "loss": [StrOptions({"kl", "l2"})],
    "decay": [Interval(Integral, 1, None, closed="left"), None],
    "scale": [StrOptions({"unit"}), Interval(Real, 0, None, closed="neither")],
    "amp": ["boolean"],
    "seed": ["random_state"],
    "gen": ["generator"],
    "cb": ["callable", None],
    "xs": ["array-like"],
}


@pytest.mark.parametrize("name, value, exc", [
    ("L", 0, ValueError), ("L", 201, ValueError), ("L", 2.0, TypeError), ("L", "3", TypeError), ("L", None, TypeError),
    ("loss", "huber", ValueError), ("loss", 1, TypeError), ("decay", 0, ValueError), ("decay", "x", TypeError),
    ("scale", -1.0, ValueError), ("scale", "half", ValueError), ("scale", [1.0], TypeError),
    ("amp", 1, TypeError), ("seed", -1, ValueError), ("seed", "x", TypeError), ("gen", 1.5, TypeError),
    ("cb", 3, TypeError), ("xs", "abc", TypeError),
])
def test_validate_params_refuses_with_the_right_type_and_names_the_argument(name, value, exc):
    with pytest.raises(exc) as info:
        validate_params({name: value}, CONSTRAINTS, caller="Est")
    msg = str(info.value)
    assert msg.startswith(f"Est: `{name}` must be") and repr(value)[:20] in msg
    assert not (exc is ValueError and isinstance(info.value, TypeError))


@pytest.mark.parametrize("name, value", [
    ("L", 1), ("L", np.int32(200)), ("loss", "kl"), ("decay", None), ("decay", 10**9), ("scale", "unit"),
    ("scale", 0.5), ("amp", np.bool_(True)), ("seed", 0), ("seed", np.random.default_rng(0)), ("gen", 3),
    ("cb", print), ("cb", None), ("xs", [1, 2]), ("xs", np.zeros(3)),
])
def test_validate_params_accepts(name, value):
    validate_params({name: value}, CONSTRAINTS, caller="Est")


def test_validate_params_ignores_unlisted_and_missing_names():
    validate_params({"other": object()}, CONSTRAINTS, caller="Est")
    with pytest.raises(ValueError, match="unknown constraint"):
        validate_params({"a": 1}, {"a": ["no-such-kind"]}, caller="Est")


def test_scalar_helpers():
    assert v.check_int(np.int64(5), "k", low=1, high=5) == 5 and type(v.check_int(np.int64(5), "k")) is int
    assert v.check_real(2, "x", low=0) == 2.0
    with pytest.raises(ValueError, match=r"`k` must be a positive integer; got 0"):
        v.check_int(0, "k", low=1, what="a positive integer")
    with pytest.raises(TypeError, match=r"`k`.*\(bool\)"):
        v.check_int(True, "k")
    with pytest.raises(ValueError, match="`x`"):
        v.check_real(math.inf, "x")
    with pytest.raises(TypeError, match="`flag`"):
        v.check_bool("yes", "flag")
    with pytest.raises(ValueError, match="`how`"):
        v.check_option(["a"], "how", ("a", "b"))  # unhashable
    assert v.check_option("b", "how", ("a", "b")) == "b"


def test_arrays_complex_text_nan():
    assert v.as_real_array(3, "x").shape == () and v.as_real_array([1, 2], "x", dtype=np.float32).dtype == np.float32
    for bad, exc in ((np.array([1j]), TypeError), ("abc", TypeError), (None, TypeError),
                     (np.array(["a"]), TypeError), ([1.0, np.nan], ValueError), ([{}], TypeError)):
        with pytest.raises(exc, match="`x`"):
            v.as_real_array(bad, "x")
    assert np.isnan(v.as_real_array([np.nan], "x", finite=False)[0])
    with pytest.raises(ValueError, match=r"2 NaN/inf value\(s\) \(first at index 1\)"):
        v.as_real_array([0.0, np.inf, np.nan], "x")
    v.check_real_values(np.zeros(3))
    v.check_real_values([1, 2])
    with pytest.raises(TypeError, match="`values` must be real"):
        v.check_real_values([1j])


def test_torch_checks_match_numpy_checks():
    torch = pytest.importorskip("torch")
    good = torch.tensor([0.0, 45.0, -90.0], requires_grad=True)
    v.check_tensor(good, "lat", low=-90, high=90)
    v.check_tensor(torch.zeros(0), "lat", low=0, high=0)
    for bad, match in ((torch.tensor([0.0, float("nan")]), "finite"), (torch.tensor([90.5]), "within"),
                       (torch.tensor([-91.0]), "within")):
        with pytest.raises(ValueError, match=f"`lat` must be {match}"):
            v.check_tensor(bad, "lat", low=-90, high=90)
        with pytest.raises(ValueError, match=f"`lat` must be {match}"):  # the NumPy path of sh_basis says the same
            from shdd_geo.sh import sh_basis

            sh_basis(bad.numpy(), np.zeros(bad.shape), 2)
    with pytest.raises(TypeError, match="`c` must be real"):
        v.check_tensor(torch.zeros(2, dtype=torch.complex64), "c")
    with pytest.raises(TypeError, match="`c` must be real"):
        v.check_real_values(torch.zeros(2, dtype=torch.complex64), "c")
    assert v.as_real_array(torch.ones(2), "x").tolist() == [1.0, 1.0]


def test_memory_checks(monkeypatch):
    monkeypatch.setattr(v, "memory_limit_bytes", lambda: 1000)
    v.check_nbytes(1000, "n", 5, what="x")
    with pytest.raises(ValueError, match=r"`n`=5 would need 1000 KiB for the basis, more than this machine's 1000 B"):
        v.check_nbytes(1024 * 1000, "n", 5, what="the basis")
    assert [v.format_bytes(b) for b in (1, 2048, 3 * 2**30)] == ["1 B", "2 KiB", "3 GiB"]


def test_sizes_are_checked_before_allocating(monkeypatch):
    """With a pretend 1 MiB machine, calls that would need more are refused up front."""
    from shdd_geo import anchors, codec

    monkeypatch.setattr(v, "memory_limit_bytes", lambda: 2**20)
    anchors.fibonacci(1000)                       # 40 KB: fine
    with pytest.raises(ValueError, match="`n`=100000 would need 3.81 MiB"):
        anchors.fibonacci(100_000)
    codec.encode([0.0], [0.0], L=100)             # 10201 coefficients: 80 KB
    with pytest.raises(ValueError, match=r"`L`=400 would need 1.23 MiB"):
        codec.encode([0.0], [0.0], L=400)


@pytest.mark.parametrize("closed, lo, hi", list(itertools.product(["both", "neither"], [0, None], [1, None])))
def test_interval_str_round_trips_bounds(closed, lo, hi):
    s = str(Interval(Real, lo, hi, closed=closed))
    assert ("-inf" in s) == (lo is None) and (" inf" in s) == (hi is None)
