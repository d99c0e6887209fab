"""Layer 2 (torch): feature encoding, the denoiser, checkpoints, run folders and training."""
