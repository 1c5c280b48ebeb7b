"""Forked batches: the core count a batch sees now (not the load average's last minute)."""

import subprocess
import sys
import time

import pytest

from shdd_geo import _parallel
from shdd_geo._threads import available_cores


@pytest.mark.skipif(sys.platform != "linux" or available_cores() < 2, reason="needs /proc/stat and 2 cores")
def test_free_cores_now_sees_a_process_that_just_started():
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert _parallel.free_cores_now(0.3) <= available_cores() - 1
    finally:
        spin.kill()
        spin.wait()


def test_free_cores_now_falls_back_to_the_load_average(monkeypatch):
    monkeypatch.setattr(_parallel, "_cpu_times", lambda cpus: None)
    monkeypatch.setattr(_parallel, "free_cores", lambda: 1)
    assert _parallel.free_cores_now(0.01) == 1


def test_process_budget_takes_threads_then_the_environment(monkeypatch):
    monkeypatch.setattr(_parallel, "free_cores_now", lambda window_s=0.1: 5)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert _parallel.process_budget() == 5
    assert _parallel.process_budget(2) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _parallel.process_budget() == 3
    with pytest.raises(ValueError, match="`threads`"):
        _parallel.process_budget(0)
