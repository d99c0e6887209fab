"""Layer 1 (numpy): rotations, skeletons, motions, BVH files, body measures, rig presets
and contacts."""
