"""shdd_geo._threads: thread counts chosen deliberately (explicit, $OMP_NUM_THREADS, free cores)."""

import pytest

from shdd_geo import _threads


def test_explicit_threads_win(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _threads.choose_threads(5) == 5


def test_omp_num_threads_is_respected(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _threads.choose_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    monkeypatch.setattr(_threads, "free_cores", lambda: 7)
    assert _threads.choose_threads() == 7


@pytest.mark.parametrize(("bad", "exc"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
                                          ("2", TypeError)])
def test_bad_thread_counts_are_refused(bad, exc):
    with pytest.raises(exc, match="`threads` must be an int >= 1"):
        _threads.choose_threads(bad)


@pytest.mark.parametrize(("load", "own", "free"), [(0.0, 0.0, 4), (1.2, 0.0, 3), (3.0, 0.0, 1), (9.0, 0.0, 1),
                                                    (2.0, 2.0, 4)])
def test_free_cores_leave_room_for_the_others(monkeypatch, load, own, free):
    monkeypatch.setattr(_threads, "available_cores", lambda: 4)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(_threads, "_own_load", lambda: own)  # this process's own share of the load
    assert _threads.free_cores() == free


def test_limit_threads_sets_and_restores_torch():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with _threads.limit_threads(target) as n:
        assert n == target and torch.get_num_threads() == target
    assert torch.get_num_threads() == before


def test_limit_threads_restores_after_an_error():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), _threads.limit_threads(1 if before != 1 else 2):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
