"""Layer 2 (numpy, matplotlib, imageio): stick-figure videos and contact sheets of any skeleton."""
