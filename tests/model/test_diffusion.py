"""The schedule, the sampler and its hooks, with stand-in networks whose answers are known."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest
import torch

from sinmdm.diffusion.schedule import cosine_alpha_bar, ddim_coefficients
from sinmdm.diffusion.scheduler import Known, LowPass
from sinmdm.model.diffusion import Diffusion, low_pass

Net = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def test_cosine_schedule():
    ab = cosine_alpha_bar(1000)
    assert len(ab) == 1000
    assert np.all(np.diff(ab) < 0)
    assert ab[0] > 0.9999 and ab[-1] < 1e-4


def test_timesteps_are_respaced_from_noisy_to_clean():
    d = Diffusion()
    steps = d.timesteps(50)
    assert len(steps) == 50 and steps[0] == 999 and steps[-1] == 0
    assert steps == sorted(steps, reverse=True)
    assert d.timesteps(5000) == list(range(999, -1, -1))


def oracle(target: torch.Tensor, diffusion: Diffusion):
    """A network whose x0 prediction is always ``target``."""

    def network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return diffusion.scale * target.expand_as(x).to(x.dtype)

    return network


def test_a_perfect_denoiser_samples_its_target():
    d = Diffusion()
    target = torch.randn(2, 30, 4, dtype=torch.float64)
    out = d.sample(oracle(target, d), target.shape, 20, generator=torch.Generator().manual_seed(0),
                   noise=torch.randn(target.shape, dtype=torch.float64))
    torch.testing.assert_close(out, target)


def test_loss_is_zero_for_the_perfect_denoiser():
    d = Diffusion()
    x0 = torch.randn(3, 10, 2, dtype=torch.float64)
    t = torch.tensor([0, 500, 999])
    loss = d.loss(oracle(x0, d), x0, t, torch.randn_like(x0), velocity=5.0)
    assert loss.shape == (3,) and float(loss.max()) < 1e-12


def test_velocity_term_penalises_jitter_by_alpha_bar():
    """An x0 prediction off by a constant has no velocity error; one that jitters has, and
    it counts fully at low noise and hardly at all at high noise."""
    d = Diffusion()
    x0 = torch.zeros(2, 12, 1, dtype=torch.float64)
    t = torch.tensor([0, 999])
    offset = oracle(x0 + 0.5, d)
    jitter = oracle(x0 + 0.5 * (-1.0) ** torch.arange(12, dtype=torch.float64)[None, :, None], d)
    noise = torch.randn_like(x0)
    base = d.loss(offset, x0, t, noise)
    torch.testing.assert_close(d.loss(offset, x0, t, noise, velocity=3.0), base)
    plain, weighted = d.loss(jitter, x0, t, noise), d.loss(jitter, x0, t, noise, velocity=3.0)
    torch.testing.assert_close(plain, base)
    assert float(weighted[0] - plain[0]) == pytest.approx(3.0 * 1.0, rel=1e-3)  # (2 * 0.5)^2 per step
    assert float(weighted[1] - plain[1]) < 1e-3


def test_frame_weights_scale_each_frames_share_of_the_loss():
    d = Diffusion()
    x0 = torch.zeros(2, 6, 3, dtype=torch.float64)
    t = torch.tensor([0, 400])
    wrong_at_2 = x0.clone()
    wrong_at_2[:, 2] = 1.0
    network, noise = oracle(wrong_at_2, d), torch.randn_like(x0)
    plain = d.loss(network, x0, t, noise)
    ones = torch.ones(2, 6, dtype=torch.float64)
    torch.testing.assert_close(d.loss(network, x0, t, noise, weights=ones), plain)
    doubled = ones.clone()
    doubled[:, 2] = 2.0
    torch.testing.assert_close(d.loss(network, x0, t, noise, weights=doubled), 2 * plain)
    ignored = ones.clone()
    ignored[:, 2] = 0.0
    assert float(d.loss(network, x0, t, noise, weights=ignored).abs().max()) == 0.0


def test_same_seed_same_sample():
    d = Diffusion()
    net = oracle(torch.zeros(1, 8, 3), d)
    a = d.sample(lambda x, t: net(x, t) + 0.1 * x, (1, 8, 3), 10, generator=torch.Generator().manual_seed(4))
    b = d.sample(lambda x, t: net(x, t) + 0.1 * x, (1, 8, 3), 10, generator=torch.Generator().manual_seed(4))
    c = d.sample(lambda x, t: net(x, t) + 0.1 * x, (1, 8, 3), 10, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_known_values_are_kept_exactly():
    d = Diffusion()
    target = torch.zeros(1, 40, 3, dtype=torch.float64)
    reference = torch.randn(1, 40, 3, dtype=torch.float64)
    mask = torch.zeros(1, 40, 1, dtype=torch.float64)
    mask[:, :10] = 1
    mask[:, 10:15] = torch.linspace(1, 0, 7, dtype=torch.float64)[1:-1, None]  # a soft ramp
    out = d.sample(oracle(target, d), target.shape, 25, known=Known(mask, reference),
                   noise=torch.randn(target.shape, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out[:, :10], reference[:, :10])
    torch.testing.assert_close(out[:, 10:15], mask[:, 10:15] * reference[:, 10:15])
    torch.testing.assert_close(out[:, 15:], target[:, 15:])


def test_low_pass_guidance_takes_the_references_slow_part():
    """With a network that predicts x0 = x_t (scaled back), unguided samples stay noise;
    guided ones follow the reference's slow component."""
    d = Diffusion()
    frames = torch.arange(64, dtype=torch.float64)
    reference = torch.sin(frames / 10).view(1, -1, 1).repeat(1, 1, 2)
    passthrough = lambda x, t: x  # noqa: E731

    def slow_error(guide):
        out = d.sample(passthrough, (1, 64, 2), 50, guide=guide, noise=torch.randn(1, 64, 2, dtype=torch.float64),
                       generator=torch.Generator().manual_seed(2))
        return float((low_pass(out, 8) - low_pass(reference, 8)).abs().mean())

    assert slow_error(LowPass(reference, factor=4, until=0)) < 0.5 * slow_error(None)


def test_a_guided_loop_stays_a_loop():
    """Low-pass guidance of a loop runs across its seam: a reference whose ends differ
    (a shuffled plan's do) must not cut the loop's slow motion at the seam."""
    d = Diffusion()
    frames = 64
    reference = torch.linspace(-1, 1, frames, dtype=torch.float64).view(1, -1, 1).repeat(1, 1, 2)  # ends far apart
    passthrough = lambda x, t: x  # noqa: E731

    def seam_over_steps(circular: bool) -> float:
        """The step across the seam over the largest step anywhere else."""
        out = d.sample(passthrough, (1, frames, 2), 50, guide=LowPass(reference, factor=8, until=0), circular=circular,
                       padding=8, noise=torch.zeros(1, frames, 2, dtype=torch.float64), eta=0.0)
        steps = (out[:, 1:] - out[:, :-1]).abs().mean(dim=-1)
        return float((out[:, 0] - out[:, -1]).abs().mean() / steps.max())

    assert seam_over_steps(circular=False) > 5  # the ramp's ends meet at the seam, uneased
    assert seam_over_steps(circular=True) < 1.2  # eased across it like the reference's own cuts


def test_a_wrapped_low_pass_sees_a_loop():
    frames = torch.arange(48, dtype=torch.float64)
    cycle = torch.sin(2 * math.pi * frames / 48).view(1, -1, 1)  # one whole cycle
    plain, wrapped = low_pass(cycle, 8), low_pass(cycle, 8, wrap=16)
    # Where the loop closes, the plain one holds its ends flat; the wrapped one follows the cycle.
    assert float((wrapped - cycle).abs().max()) < 0.5 * float((plain - cycle).abs().max())


def test_low_pass_keeps_slow_signals_and_removes_alternation():
    slow = torch.ones(1, 16, 1)
    torch.testing.assert_close(low_pass(slow, 2), slow)
    fast = torch.tensor([1.0, -1.0] * 8).view(1, 16, 1)
    assert low_pass(fast, 2).abs().max() < 1e-6


def recording(network: Net) -> tuple[Net, list[tuple[torch.Tensor, int, torch.Tensor]]]:
    """``network`` wrapped to log each call's input, timestep and output (all in the scaled
    space), so a test can replay the sampler's steps one by one."""
    calls: list[tuple[torch.Tensor, int, torch.Tensor]] = []

    def call(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = network(x, t)
        calls.append((x.clone(), int(t[0]), out.clone()))
        return out

    return call, calls


# --- Gaussian data: the ideal x0 predictor is known in closed form ---------------------

MU, S = 0.7, 0.5  # per-channel mean and std of the data, normalised units


def gaussian_denoiser(d: Diffusion, mu: float = MU, s: float = S) -> Net:
    """E[z0 | z_t] for z0 ~ N(m, v) (m = scale * mu, v = (scale * s)^2, the noise space),
    element by element, so every frame and channel is an independent draw."""
    m, v = d.scale * mu, (d.scale * s) ** 2

    def network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = d.alpha_bar[t].to(x.dtype).view(-1, 1, 1)
        return m + ab.sqrt() * v / (ab * v + 1 - ab) * (x - ab.sqrt() * m)

    return network


def gaussian_sample_moments(d: Diffusion, steps: int, eta: float, mu: float = MU, s: float = S) -> tuple[float, float]:
    """Exact mean and std (normalised units) of what the sampler must return for Gaussian
    data with the ideal predictor: every step is affine in z_t plus independent noise, so a
    Gaussian stays Gaussian and its two moments can be carried through by hand. Written
    out independently of the sampler: eta = 1 in the DDPM posterior form (Ho et al.
    2020, eqs. 6-7), eta = 0 as the DDIM update (Song et al. 2021, eq. 12)."""
    m, v = d.scale * mu, (d.scale * s) ** 2
    ab_all = d.alpha_bar.tolist()
    schedule = d.timesteps(steps)
    mean, var = 0.0, 1.0  # z_T ~ N(0, 1)
    for t, t_prev in zip(schedule, schedule[1:]):
        ab, ab_prev = ab_all[t], ab_all[t_prev]
        k = math.sqrt(ab) * v / (ab * v + 1 - ab)  # z0_hat = m + k (z_t - sqrt(ab) m)
        if eta == 1.0:
            beta = 1 - ab / ab_prev
            c0 = math.sqrt(ab_prev) * beta / (1 - ab)  # posterior mean = c0 z0 + ct z_t
            ct = math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)
            fresh = (1 - ab_prev) / (1 - ab) * beta
        else:
            assert eta == 0.0
            c0 = math.sqrt(ab_prev) - math.sqrt(1 - ab_prev) * math.sqrt(ab) / math.sqrt(1 - ab)
            ct = math.sqrt(1 - ab_prev) / math.sqrt(1 - ab)
            fresh = 0.0
        gain = c0 * k + ct  # d z_prev / d z_t
        mean = c0 * (m + k * (mean - math.sqrt(ab) * m)) + ct * mean
        var = gain**2 * var + fresh
    ab = ab_all[schedule[-1]]
    k = math.sqrt(ab) * v / (ab * v + 1 - ab)  # the last step returns z0_hat itself
    return (m + k * (mean - math.sqrt(ab) * m)) / d.scale, k * math.sqrt(var) / d.scale


def test_gaussian_moment_reference_converges_to_the_data():
    """The hand-carried moments tend to (MU, S) as steps grow, so they are the right maths;
    at 20-50 steps a correct sampler still shrinks the std a lot (the data's variance in
    noise space, 0.0036, is below 1 - alpha-bar of the last coarse steps)."""
    d = Diffusion()
    for eta in (0.0, 1.0):
        errors = []
        for steps in (20, 50, 200, 1000):
            mean, std = gaussian_sample_moments(d, steps, eta)
            assert mean == pytest.approx(MU, abs=1e-5)
            errors.append(S - std)
        assert all(e > 0 for e in errors) and errors == sorted(errors, reverse=True)
        assert errors[-1] < (0.02 if eta == 0.0 else 0.04) * S


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("steps", [20, 50])
def test_sampling_gaussian_data_gives_the_exact_moments(eta: float, steps: int):
    """20000 independent draws with the ideal predictor: their mean and std must equal the
    exact ones within 5 standard errors (about 1% of the std)."""
    d = Diffusion()
    n = 20000
    generator = torch.Generator().manual_seed(10 + steps + int(eta))
    noise = torch.randn(1, n // 2, 2, generator=generator, dtype=torch.float64)
    out = d.sample(gaussian_denoiser(d), (1, n // 2, 2), steps, eta=eta, noise=noise, generator=generator)
    mean, std = gaussian_sample_moments(d, steps, eta)
    assert float(out.mean()) == pytest.approx(mean, abs=5 * std / math.sqrt(n))
    assert float(out.std()) == pytest.approx(std, abs=5 * std / math.sqrt(2 * n))


def test_many_deterministic_steps_recover_the_gaussian():
    """Against the data itself rather than the reference: with the full 1000-step schedule
    DDIM's output has mean MU and std within 2% of S (its discretisation bias is 1.6%)."""
    d = Diffusion()
    n = 4000
    noise = torch.randn(1, n, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    out = d.sample(gaussian_denoiser(d), (1, n, 1), 1000, eta=0.0, noise=noise)
    assert float(out.mean()) == pytest.approx(MU, abs=5 * S / math.sqrt(n))
    assert float(out.std()) == pytest.approx(S, rel=0.02 + 5 / math.sqrt(2 * n))


def test_deterministic_steps_follow_the_ddim_formula():
    """eta = 0: every step from t to t_prev is exactly sqrt(ab_prev) z0 + sqrt(1 - ab_prev) eps,
    eps = (z_t - sqrt(ab) z0) / sqrt(1 - ab), whatever the predictor (a nonlinear one here),
    and the result is the last prediction at t = 0."""
    d = Diffusion()
    network, calls = recording(lambda x, t: 0.1 * torch.tanh(3 * x) + 0.01 * t.view(-1, 1, 1) / 1000)
    noise = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    out = d.sample(network, noise.shape, 8, eta=0.0, noise=noise, generator=torch.Generator().manual_seed(6))
    assert [t for _, t, _ in calls] == d.timesteps(8)
    torch.testing.assert_close(calls[0][0], noise)
    for (x_t, t, z0), (x_prev, t_prev, _) in zip(calls, calls[1:]):
        ab, ab_prev = float(d.alpha_bar[t]), float(d.alpha_bar[t_prev])
        eps = (x_t - math.sqrt(ab) * z0) / math.sqrt(1 - ab)
        torch.testing.assert_close(x_prev, math.sqrt(ab_prev) * z0 + math.sqrt(1 - ab_prev) * eps)
    torch.testing.assert_close(out, calls[-1][2] / d.scale)


@pytest.mark.parametrize("eta", [0.5, 1.0])
def test_stochastic_steps_have_the_right_mean_and_fresh_noise(eta: float):
    """eta = 1 must be the DDPM posterior q(z_prev | z_t, z0): mean
    sqrt(ab_prev) beta / (1 - ab) z0 + sqrt(1 - beta) (1 - ab_prev) / (1 - ab) z_t, variance
    (1 - ab_prev) / (1 - ab) beta, beta = 1 - ab / ab_prev. Other eta scale the fresh noise's
    std by eta and keep the marginal: mean sqrt(ab_prev) z0 + sqrt(1 - ab_prev - sigma^2) eps.
    Checked step by step on 20000 elements: the standardised residual is N(0, 1)."""
    d = Diffusion()
    network, calls = recording(gaussian_denoiser(d))
    generator = torch.Generator().manual_seed(7)
    noise = torch.randn(1, 10000, 2, generator=generator, dtype=torch.float64)
    d.sample(network, noise.shape, 12, eta=eta, noise=noise, generator=generator)
    n = noise.numel()
    for (x_t, t, z0), (x_prev, t_prev, _) in zip(calls, calls[1:]):
        ab, ab_prev = float(d.alpha_bar[t]), float(d.alpha_bar[t_prev])
        beta = 1 - ab / ab_prev
        posterior_var = (1 - ab_prev) / (1 - ab) * beta
        if eta == 1.0:
            mean = math.sqrt(ab_prev) * beta / (1 - ab) * z0 + math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab) * x_t
        else:
            eps = (x_t - math.sqrt(ab) * z0) / math.sqrt(1 - ab)
            mean = math.sqrt(ab_prev) * z0 + math.sqrt(1 - ab_prev - eta**2 * posterior_var) * eps
        residual = (x_prev - mean) / (eta * math.sqrt(posterior_var))
        assert abs(float(residual.mean())) < 5 / math.sqrt(n), (t, t_prev)
        assert float(residual.std()) == pytest.approx(1.0, abs=5 / math.sqrt(2 * n)), (t, t_prev)


@pytest.mark.parametrize("ab,ab_prev", [(0.01, 0.2), (0.5, 0.9), (0.999, 0.99995), (2e-9, 1e-3)])
def test_ddim_coefficients_match_the_hand_written_ones(ab: float, ab_prev: float):
    """Signal factor sqrt(ab_prev); fresh noise sigma = eta sqrt((1 - ab_prev) / (1 - ab)
    (1 - ab / ab_prev)); noise share sqrt(1 - ab_prev - sigma^2), so that the step keeps the
    marginal variance (signal^2 + share^2 + sigma^2 = 1 for unit-variance data)."""
    for eta in (0.0, 0.3, 1.0):
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        signal, share, fresh = ddim_coefficients(ab, ab_prev, eta)
        assert signal == pytest.approx(math.sqrt(ab_prev), rel=1e-12)
        assert fresh == pytest.approx(sigma, rel=1e-12, abs=1e-15)
        assert share == pytest.approx(math.sqrt(1 - ab_prev - sigma**2), rel=1e-12)
        assert signal**2 + share**2 + fresh**2 == pytest.approx(1.0, rel=1e-12)


# --- circular sampling ------------------------------------------------------------------


@pytest.mark.parametrize("padding", [1, 3, 10, 25])
def test_circular_padding_closes_the_sequence_into_a_loop(padding: int):
    """Every network call sees the sequence with its last ``pad`` frames before it and its
    first ``pad`` after it (pad = min(padding, frames)), at every step."""
    d = Diffusion()
    frames = 10
    pad = min(padding, frames)
    network, calls = recording(lambda x, t: 0.1 * torch.sin(x))
    noise = torch.randn(2, frames, 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    d.sample(network, noise.shape, 4, circular=True, padding=padding, noise=noise,
             generator=torch.Generator().manual_seed(9))
    assert len(calls) == 4
    torch.testing.assert_close(calls[0][0][:, pad : pad + frames], noise)
    for seen, _, _ in calls:
        assert seen.shape == (2, frames + 2 * pad, 3)
        middle = seen[:, pad : pad + frames]
        torch.testing.assert_close(seen[:, :pad], middle[:, frames - pad :])
        torch.testing.assert_close(seen[:, pad + frames :], middle[:, :pad])


def neighbour(shift: int) -> Net:
    """Predicts each frame as its neighbour ``shift`` frames to the left (right if
    negative), and zero where the window has none: the sequence's ends only learn about
    each other through the loop padding."""

    def network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        if shift > 0:
            out[:, shift:] = x[:, :-shift]
        else:
            out[:, :shift] = x[:, -shift:]
        return out

    return network


@pytest.mark.parametrize("shift", [1, -1, 2])
def test_circular_sampling_makes_the_ends_neighbours(shift: int):
    """One step returns the prediction at t = 0: on a loop the neighbour network rolls the
    noise round (frame 0 gets the last frame's value); without the loop the ends are zero."""
    d = Diffusion()
    noise = torch.randn(2, 9, 3, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    looped = d.sample(neighbour(shift), noise.shape, 1, circular=True, padding=2, noise=noise)
    torch.testing.assert_close(looped, torch.roll(noise, shift, dims=1) / d.scale)
    plain = d.sample(neighbour(shift), noise.shape, 1, noise=noise)
    ends, rest = (slice(0, shift), slice(shift, None)) if shift > 0 else (slice(shift, None), slice(0, shift))
    assert float(plain[:, ends].abs().max()) == 0.0
    torch.testing.assert_close(plain[:, rest], looped[:, rest])


def test_circular_sampling_over_many_steps_stays_a_loop():
    """A translation-equivariant network sampled on a loop commutes with rolling the noise:
    rolling the start rolls the whole trajectory, which only holds if the padding wraps."""
    d = Diffusion()

    def smooth(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # Mixes each frame with both neighbours; zero padding at the window's edges.
        padded = torch.nn.functional.pad(x.transpose(1, 2), (1, 1)).transpose(1, 2)
        return 0.5 * x + 0.3 * padded[:, :-2] + 0.2 * padded[:, 2:]

    noise = torch.randn(1, 12, 2, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    a = d.sample(smooth, noise.shape, 6, eta=0.0, circular=True, padding=3, noise=noise)
    b = d.sample(smooth, noise.shape, 6, eta=0.0, circular=True, padding=3, noise=torch.roll(noise, 5, dims=1))
    torch.testing.assert_close(b, torch.roll(a, 5, dims=1))
