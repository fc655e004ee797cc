"""The segmentation engine: the model registry, weights, ONNX files, the runners and the Segmenter."""
