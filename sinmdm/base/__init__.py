"""Layer 0: errors, atomic file writes and the process allocator; imports nothing of sinmdm."""
