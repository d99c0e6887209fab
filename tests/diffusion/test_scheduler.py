"""The diffusion layer on its own: the config every checkpoint carries, and the one
sampler step, the same on torch tensors and numpy arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sinmdm.base.errors import SinmdmError
from sinmdm.diffusion.config import DiffusionConfig
from sinmdm.diffusion.scheduler import DDIMScheduler, Known, LowPass


def test_config_round_trips_and_old_checkpoints_get_the_default():
    config = DiffusionConfig(train_steps=500, signal_scale=0.2)
    assert DiffusionConfig.from_dict(config.to_dict()) == config
    assert DiffusionConfig.from_dict(None) == DiffusionConfig()
    assert len(config.alpha_bar()) == 500
    with pytest.raises(SinmdmError, match="unsupported diffusion"):
        DiffusionConfig(prediction="epsilon")
    with pytest.raises(SinmdmError):
        DiffusionConfig(signal_scale=0.0)


def _blur(x, factor, wrap):  # any low-pass with the same maths in both libraries
    return (x[:, :1] + x[:, -1:]) / 2 + 0 * x


@pytest.mark.parametrize("index", [0, 3, 7])
def test_one_step_is_the_same_on_torch_and_numpy(index):
    config = DiffusionConfig()
    rng = np.random.default_rng(index)
    x0, sample, fresh, ref_noise, reference = (rng.standard_normal((2, 12, 5)).astype(np.float32) for _ in range(5))
    mask = (rng.random((1, 12, 5)) > 0.5).astype(np.float32)
    out = {}
    for xp, wrap in ((torch, torch.from_numpy), (np, np.asarray)):
        scheduler = DDIMScheduler(config, xp, eta=1.0)
        scheduler.set_timesteps(8)
        draws = iter([wrap(fresh), wrap(ref_noise)])
        out[xp.__name__] = scheduler.step(
            wrap(x0), index, wrap(sample), lambda: next(draws), known=Known(wrap(mask), wrap(reference)),
            guide=LowPass(wrap(reference), factor=2, until=-1), low_pass=_blur,
        )
    got = out["torch"].numpy()
    assert got.dtype == out["numpy"].dtype == np.float32
    np.testing.assert_allclose(got, out["numpy"], atol=1e-6)
    if index == 7:  # the last step returns x0, with the known values in place
        np.testing.assert_array_equal(got, mask * reference + (1 - mask) * x0)
    else:
        assert not np.allclose(got, x0)


def test_the_denoising_loop_calls_the_network_once_per_timestep():
    scheduler = DDIMScheduler(DiffusionConfig(), np, eta=0.0)
    scheduler.set_timesteps(5)
    seen, steps = [], []
    target = np.full((1, 4, 2), 3.0, dtype=np.float32)
    out = scheduler.denoise(lambda x, t: seen.append(t) or target, np.zeros((1, 4, 2), np.float32),
                            lambda: np.zeros((1, 4, 2), np.float32), on_step=steps.append)
    assert seen == scheduler.timesteps and steps == [0, 1, 2, 3]
    np.testing.assert_allclose(out, target)
