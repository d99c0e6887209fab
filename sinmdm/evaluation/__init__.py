"""Layer 2 (numpy): the metrics that score motions against their clip."""
