"""Layer 1 (numpy): the noise schedule, the diffusion config and the one sampler step,
written once for torch and numpy arrays."""
