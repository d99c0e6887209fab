"""Style transfer: a content clip's timing and path in the style of the model's clip, by
low-pass guidance of the sampler (ILVR harmonisation)."""

from __future__ import annotations

import numpy as np
import torch

from ..anim.motion import Motion
from ..base.errors import SinmdmError
from ..diffusion.scheduler import LowPass
from ..model.runs import Run
from ..sampling.sample import sample_features, to_motions
from .edit import encode_reference, pin_trajectory, root_path
from .generate import clean_motions

TRANSFER_LAST_GUIDED = 600  # at --strength 1, style transfer guides only timesteps above this


def transfer_guide(strength: float) -> tuple[int, int]:
    """ILVR settings for ``--strength`` in [0, 1]: the low-pass factor (frames averaged
    when the content's slow motion is imposed) and the timestep below which guidance
    stops. 0 keeps the content almost as it is; 1 keeps only its slowest motion, and only
    through the noisiest steps, so the style's motifs take over."""
    if not 0.0 <= strength <= 1.0:
        raise SinmdmError(f"--strength must be between 0 and 1, got {strength}")
    factor = round(2.0 ** (1.0 + 3.0 * strength))
    until = round(TRANSFER_LAST_GUIDED * strength)
    return factor, until


def transfer(
    run: Run, content: Motion, n: int, *, strength: float, steps: int, seed: int, clean: bool = True, pin: bool = True,
    on_step=None,
) -> list[Motion]:
    """``n`` motions with the content's timing and path in the style of the model's clip
    (harmonisation by low-pass guidance, ILVR). The guidance alone lets the root drift
    from the content's path (on Walk-In-Circle content with the Salsa model, by 44% of
    the path's length), so the root's path is then pinned to the content's at every
    frame (unless not ``pin``: the guidance's own path, to measure how far it strays)."""
    factor, until = transfer_guide(strength)
    reference = torch.as_tensor(encode_reference(run.layout, content)[None], dtype=torch.float32, device=run.device)
    features = sample_features(
        run, n, content.n_frames, steps=steps, seed=seed, plan=False, guide=LowPass(reference, factor, until), on_step=on_step
    )
    if not pin:
        return to_motions(run, features)
    path = root_path(run.layout, content)
    every = np.ones(content.n_frames, dtype=bool)
    motions = [pin_trajectory(run.layout, m, path, every) for m in to_motions(run, features)]
    if not clean:
        return motions
    keep_path = np.zeros((content.n_frames, run.layout.skeleton.n_joints))
    if run.layout.has_trajectory:
        keep_path[:, run.layout.traj_joint] = 1.0  # cleanup must not move the root off the content's path
    return clean_motions(run, content, features, motions, keep_path)
