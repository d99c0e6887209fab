"""Layer 3 (numpy): limb fixes, IK, smoothing, foot pins and lifts applied to decoded motions."""
