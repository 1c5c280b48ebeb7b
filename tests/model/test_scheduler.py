"""Tests of the DDPM/DDIM noise schedulers (shdd_geo.model.scheduler)."""

import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shdd_geo.model.scheduler import (  # noqa: E402
    DDIMScheduler,
    DDPMScheduler,
    SchedulerConfig,
    betas_for,
    make_scheduler,
)


def test_config_round_trip_frozen_and_validated():
    c = SchedulerConfig(num_train_timesteps=77, beta_schedule="linear", eta=0.5, clip_sample=3.0)
    assert SchedulerConfig.from_dict(c.to_dict()) == c
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.eta = 1.0
    with pytest.raises(ValueError, match="beta_schedule"):
        SchedulerConfig(beta_schedule="quadratic")
    with pytest.raises(ValueError, match="prediction_type"):
        SchedulerConfig(prediction_type="velocity")
    with pytest.raises(ValueError, match="num_train_timesteps"):
        SchedulerConfig(num_train_timesteps=1)
    with pytest.raises(ValueError, match="beta_start"):
        SchedulerConfig(beta_start=0.1, beta_end=0.01)
    with pytest.raises(ValueError, match="unknown"):
        SchedulerConfig.from_dict({"num_train_timesteps": 10, "foo": 1})
    with pytest.raises(ValueError, match="sampler"):
        make_scheduler("euler", c)


def test_linear_betas_float64_then_float32():
    cfg = SchedulerConfig(beta_schedule="linear", num_train_timesteps=1000)
    b = betas_for(cfg)
    assert b.dtype == np.float64 and b[0] == 1e-4 and b[-1] == 0.02
    s = DDPMScheduler(cfg)
    assert s.betas.dtype == torch.float32 and s.alphas_cumprod.dtype == torch.float32
    np.testing.assert_allclose(s.alphas_cumprod.numpy(), np.cumprod(1 - b), rtol=1e-6)


def test_cosine_schedule_matches_closed_form():
    T, s_off = 1000, 0.008
    abar = np.cumprod(1 - betas_for(SchedulerConfig(num_train_timesteps=T)))
    f = lambda t: math.cos((t / T + s_off) / (1 + s_off) * math.pi / 2) ** 2  # noqa: E731
    expect = np.array([f(t + 1) / f(0) for t in range(T)])
    # identical except where betas were clipped at 0.999 (the very last steps)
    np.testing.assert_allclose(abar[:-5], expect[:-5], rtol=1e-10)
    assert abar[-1] < 1e-4 and abar[0] > 0.9999


def test_set_timesteps_trailing():
    s = DDIMScheduler(num_train_timesteps=1000)
    s.set_timesteps(20)
    ts = s.timesteps.numpy()
    assert len(ts) == 20 and ts[0] == 999 and ts[-1] == 49 and np.all(np.diff(ts) == -50)
    s.set_timesteps(1000)
    assert s.timesteps.tolist() == list(range(999, -1, -1))
    for bad, exc in ((0, ValueError), (1001, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(exc, match="num_inference_steps"):
            s.set_timesteps(bad)
    with pytest.raises(ValueError, match="not in"):
        s.set_timesteps(10)
        s.step(torch.zeros(1, 2), 998, torch.zeros(1, 2))


def test_add_noise_formula_and_errors():
    s = DDPMScheduler(num_train_timesteps=100, beta_schedule="linear")
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    t = torch.tensor([0, 50, 99])
    xt = s.add_noise(x0, eps, t)
    abar = np.cumprod(1 - betas_for(s.config))
    for i, ti in enumerate(t.tolist()):
        expect = math.sqrt(abar[ti]) * x0[i] + math.sqrt(1 - abar[ti]) * eps[i]
        torch.testing.assert_close(xt[i], expect, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="noise"):
        s.add_noise(x0, eps[:2], t)


@pytest.mark.parametrize("n_steps", [1, 7, 50])
def test_ddim_with_true_x0_recovers_x0_exactly(n_steps):
    s = DDIMScheduler(num_train_timesteps=50)
    s.set_timesteps(n_steps)
    g = torch.Generator().manual_seed(3)
    x0 = torch.randn(4, 9, generator=g, dtype=torch.float64)
    x = s.add_noise(x0, torch.randn(4, 9, generator=g, dtype=torch.float64), s.timesteps[:1].repeat(4))
    for t in s.timesteps.tolist():
        out = s.step(x0, t, x)
        assert torch.equal(out.pred_original_sample, x0)
        x = out.prev_sample
    torch.testing.assert_close(x, x0, rtol=0, atol=1e-10)


def test_epsilon_prediction_recovers_x0():
    s = DDIMScheduler(SchedulerConfig(num_train_timesteps=40, prediction_type="epsilon"))
    s.set_timesteps(8)
    g = torch.Generator().manual_seed(5)
    x0, eps = torch.randn(2, 3, generator=g, dtype=torch.float64), torch.randn(2, 3, generator=g, dtype=torch.float64)
    t0 = s.timesteps[0]
    x = s.add_noise(x0, eps, t0.repeat(2))
    out = s.step(eps, int(t0), x)
    torch.testing.assert_close(out.pred_original_sample, x0, rtol=0, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 10])
def test_ddpm_posterior_matches_bayes(stride):
    """Strided posterior q(x_t' | x_t, x0) equals Gaussian conditioning done by hand (float64)."""
    s = DDPMScheduler(num_train_timesteps=100, beta_schedule="linear")
    s.set_timesteps(100 // stride)
    abar = np.cumprod(1 - betas_for(s.config))
    x0, xt = torch.tensor([0.7, -1.2], dtype=torch.float64), torch.tensor([0.1, 0.4], dtype=torch.float64)
    t = int(s.timesteps[3])
    tp = s.previous_timestep(t)
    a_p, alpha = abar[tp], abar[t] / abar[tp]
    prec = 1 / (1 - a_p) + alpha / (1 - alpha)
    var = 1 / prec
    mean = var * (math.sqrt(a_p) * x0 / (1 - a_p) + math.sqrt(alpha) * xt / (1 - alpha))
    m, v = s.posterior(x0, t, xt, tp)
    torch.testing.assert_close(m, mean, rtol=1e-5, atol=1e-8)
    assert abs(v - var) < 1e-7 * max(var, 1e-3)


def test_ddpm_step_with_true_x0_gives_the_forward_marginal():
    """x_t ~ q(x_t|x0), then one posterior step: x_t' ~ N(sqrt(abar_t') x0, 1 - abar_t')."""
    s = DDPMScheduler(num_train_timesteps=100)
    s.set_timesteps(10)
    t = int(s.timesteps[4])
    tp = s.previous_timestep(t)
    n = 40000
    g = torch.Generator().manual_seed(11)
    x0 = torch.full((n, 1), 0.8, dtype=torch.float64)
    xt = s.add_noise(x0, torch.randn(n, 1, generator=g, dtype=torch.float64), torch.full((n,), t))
    prev = s.step(x0, t, xt, generator=g).prev_sample
    a_p = float(np.cumprod(1 - betas_for(s.config))[tp])
    sd = math.sqrt(1 - a_p)
    assert abs(prev.mean().item() - math.sqrt(a_p) * 0.8) < 5 * sd / math.sqrt(n)
    assert abs(prev.std().item() / sd - 1) < 5 / math.sqrt(2 * n)


def test_last_ddpm_step_is_noise_free():
    s = DDPMScheduler(num_train_timesteps=20)
    s.set_timesteps(4)
    x0 = torch.tensor([[1.5, -0.5]])
    out = s.step(x0, int(s.timesteps[-1]), torch.randn(1, 2), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.prev_sample, x0)


GOLDEN = {
    "ddpm": [[0.061048, -0.009304, -0.025562], [0.077721, -0.09666, 0.017307]],
    "ddim": [[0.014269, 0.115648, -0.228028], [0.065563, -0.162727, 0.139627]],
    "ddim_eta": [[0.123999, -0.071377, 0.077161], [0.093669, -0.136349, -0.046166]],
}


@pytest.mark.parametrize("kind", sorted(GOLDEN))
def test_golden_seeded_loop(kind):
    sched = "linear" if kind == "ddpm" else "cosine"
    cfg = SchedulerConfig(num_train_timesteps=50, beta_schedule=sched, eta=1.0 if kind == "ddim_eta" else 0.0)
    s = make_scheduler(kind[:4], cfg)
    s.set_timesteps(10)
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(2, 3, generator=g)
    for t in s.timesteps.tolist():
        x = s.step(torch.tanh(x) * 0.5, t, x, generator=g).prev_sample
    np.testing.assert_allclose(x.numpy(), GOLDEN[kind], atol=2e-6)


def test_clip_sample():
    s = DDIMScheduler(SchedulerConfig(num_train_timesteps=10, clip_sample=1.0))
    s.set_timesteps(2)
    out = s.step(torch.tensor([[5.0, -5.0, 0.5]]), int(s.timesteps[0]), torch.zeros(1, 3))
    assert out.pred_original_sample.tolist() == [[1.0, -1.0, 0.5]]


@pytest.mark.parametrize("kind", ["sample", "epsilon", "v"])
def test_predict_x0_brute_force_twin(kind):
    """The batched x0 of every prediction type equals the closed form in float64, row by row,
    and agrees with the per-step `_split` the samplers use."""
    s = DDPMScheduler(SchedulerConfig(num_train_timesteps=100, prediction_type=kind))
    g = torch.Generator().manual_seed(3)
    x0, eps = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 9, 50, 98, 99])
    xt = s.add_noise(x0, eps, t)
    out = {"sample": x0, "epsilon": eps}
    if kind == "v":  # v = sqrt(abar) eps - sqrt(1 - abar) x0, abar from the float64 table
        a = torch.from_numpy(s._abar64[t.numpy()])[:, None]
        out["v"] = a.sqrt() * eps - (1 - a).sqrt() * x0
    got = s.predict_x0(out[kind], t, xt)
    atol = 1e-3 if kind == "epsilon" else 1e-5  # epsilon divides by sqrt(abar_99) ~ 1e-2 in float32 tables
    for i in range(5):
        a = float(s._abar64[int(t[i])])
        if kind == "sample":
            want = out["sample"][i]
        elif kind == "epsilon":
            want = (xt[i] - math.sqrt(1 - a) * out["epsilon"][i]) / math.sqrt(a)
        else:
            want = math.sqrt(a) * xt[i] - math.sqrt(1 - a) * out["v"][i]
        torch.testing.assert_close(got[i], want, rtol=0, atol=atol)
        if kind != "epsilon" or int(t[i]) < 99:
            torch.testing.assert_close(got[i], x0[i], rtol=0, atol=atol)
        x0_step, _ = s._split(out[kind][i : i + 1], int(t[i]), xt[i : i + 1])
        torch.testing.assert_close(x0_step[0], want, rtol=0, atol=atol)


def test_v_prediction_ddim_recovers_x0_exactly():
    s = DDIMScheduler(SchedulerConfig(num_train_timesteps=60, prediction_type="v"))
    s.set_timesteps(12)
    g = torch.Generator().manual_seed(7)
    x0 = torch.randn(3, 5, generator=g, dtype=torch.float64)
    eps = torch.randn(3, 5, generator=g, dtype=torch.float64)
    x = s.add_noise(x0, eps, s.timesteps[:1].repeat(3))
    for t in s.timesteps.tolist():
        a = s._abar(t)
        e = (x - math.sqrt(a) * x0) / math.sqrt(1 - a)       # the noise actually in x
        v = math.sqrt(a) * e - math.sqrt(1 - a) * x0         # the true velocity
        out = s.step(v, t, x)
        torch.testing.assert_close(out.pred_original_sample, x0, rtol=0, atol=1e-10)
        x = out.prev_sample
    torch.testing.assert_close(x, x0, rtol=0, atol=1e-10)
