"""The denoiser is local: its receptive field is what the configuration says, and one
model runs on any length."""

from __future__ import annotations

import pytest
import torch

from sinmdm.base.errors import SinmdmError
from sinmdm.model.network import Denoiser, ModelConfig


def randomised(cfg: ModelConfig) -> Denoiser:
    """A denoiser whose zero-initialised gates are opened, so every block acts."""
    torch.manual_seed(0)
    net = Denoiser(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.1)
    return net.double().eval()  # float64: influence at the field's edge is tiny but nonzero


@pytest.mark.parametrize("blocks, window", [(8, 3), (2, 5), (3, 1)])
def test_receptive_field_matches_the_configuration(blocks, window):
    cfg = ModelConfig(channels=7, width=16, heads=2, blocks=blocks, window=window)
    assert cfg.receptive_field == 1 + (window - 1) * blocks
    net = randomised(cfg)
    x = torch.randn(1, 60, 7, dtype=torch.float64)
    t = torch.tensor([300])
    base = net(x, t)
    poked = x.clone()
    poked[0, 30] += 1.0
    changed = (net(poked, t) - base).abs().amax(-1)[0] > 0
    reach = cfg.receptive_field // 2
    assert changed[30 - reach : 30 + reach + 1].any()
    assert not changed[: 30 - reach].any() and not changed[30 + reach + 1 :].any()
    assert changed[30 - reach] and changed[30 + reach]  # the field is reached, not just bounded


def test_any_length_and_batch_independence():
    net = randomised(ModelConfig(channels=5, width=16, heads=4, blocks=2))
    t = torch.tensor([10, 500])
    for frames in (1, 2, 9, 257):
        x = torch.randn(2, frames, 5, dtype=torch.float64)
        out = net(x, t)
        assert out.shape == x.shape
        torch.testing.assert_close(out[1:], net(x[1:], t[1:]))


def test_bad_configurations_are_clear_errors():
    with pytest.raises(SinmdmError, match="odd"):
        ModelConfig(channels=4, window=4)
    with pytest.raises(SinmdmError, match="divisible"):
        ModelConfig(channels=4, width=30, heads=4)
    with pytest.raises(SinmdmError, match="rank"):
        ModelConfig(channels=4, rank=5)
    with pytest.raises(SinmdmError, match="basis"):
        Denoiser(ModelConfig(channels=4, width=16, heads=2, rank=2), torch.zeros(4, 3))


def test_a_subspace_model_outputs_in_its_span_and_saves_its_basis():
    basis, _ = torch.linalg.qr(torch.randn(9, 3, dtype=torch.float64))
    cfg = ModelConfig(channels=9, width=16, heads=2, blocks=2, rank=3)
    net = Denoiser(cfg, basis.float())
    out = net(torch.randn(2, 11, 9), torch.tensor([3, 700])).double()
    torch.testing.assert_close(out @ basis @ basis.T, out, atol=1e-5, rtol=0)
    # Noise orthogonal to the basis does not reach the network.
    x = torch.randn(1, 11, 9)
    off = torch.randn(1, 11, 9).double()
    off = (off - off @ basis @ basis.T).float()
    torch.testing.assert_close(net(x + off, torch.tensor([5])), net(x, torch.tensor([5])), atol=1e-5, rtol=0)
    loaded = Denoiser(cfg)
    loaded.load_state_dict(net.state_dict())
    torch.testing.assert_close(loaded.basis, net.basis)


def test_a_new_model_starts_as_a_per_frame_map():
    """Zero-initialised gates make every block the identity at first, so a fresh model
    cannot mix frames: training opens the window."""
    net = Denoiser(ModelConfig(channels=6, width=16, heads=2, blocks=3))
    x = torch.randn(1, 20, 6)
    poked = x.clone()
    poked[0, 10] += 1
    changed = (net(poked, torch.tensor([5])) - net(x, torch.tensor([5]))).abs().amax(-1)[0] > 0
    assert changed.nonzero().flatten().tolist() == [10]


def test_a_network_of_several_clips_is_told_each_frames_clip():
    torch.manual_seed(0)
    net = Denoiser(ModelConfig(channels=6, width=16, blocks=2, labels=3)).eval()
    with torch.no_grad():
        net.label.weight.normal_()
        x, t = torch.randn(2, 20, 6), torch.tensor([10, 500])
        anyclip = net(x, t, torch.full((2, 20), 3))
        assert torch.equal(net(x, t), anyclip)  # no labels: any clip
        first = net(x, t, torch.zeros(2, 20, dtype=torch.long))
        assert not torch.allclose(first, anyclip)
        mixed = torch.zeros(2, 20, dtype=torch.long)
        mixed[:, 10:] = 1
        out = net(x, t, mixed)
        assert not torch.allclose(out[:, 15:], first[:, 15:])  # each frame its own clip
    assert Denoiser(ModelConfig(channels=6, width=16, blocks=2)).__dict__["_modules"].get("label") is None
