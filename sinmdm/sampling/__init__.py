"""Layer 3 (torch or onnxruntime): the sampling loops, the ONNX export and feature-to-
motion decoding."""
