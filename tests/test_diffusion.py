"""The schedule, the sampler and its hooks, with stand-in networks whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sinmdm.diffusion import Diffusion, Known, LowPass, cosine_alpha_bar, low_pass


def test_cosine_schedule():
    ab = cosine_alpha_bar()
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


def test_low_pass_keeps_slow_signals_and_removes_alternation():
    slow = torch.ones(1, 16, 1)
    torch.testing.assert_close(low_pass(slow, 2), slow)
    fast = torch.tensor([1.0, -1.0] * 8).view(1, 16, 1)
    assert low_pass(fast, 2).abs().max() < 1e-6


def test_circular_sampling_sees_the_sequence_as_a_loop():
    """A network that copies each frame's left neighbour: on a loop, frame 0 sees the last."""
    d = Diffusion()
    seen = []

    def network(x, t):
        seen.append(x.shape[1])
        return torch.zeros_like(x)

    d.sample(network, (1, 10, 1), 3, circular=True, padding=4)
    assert seen == [18, 18, 18]
