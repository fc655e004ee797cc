"""Speed benchmarks for Go-selfies (``benchmark-fps``): the network alone and the whole video pipeline.

Modules: ``stats`` (timers and percentiles), ``machine`` (hardware and versions), ``engines`` (one
callable per model x size x precision x backend x batch), ``reference`` (MediaPipe's selfie
segmenter), ``pipeline`` (decode -> segment -> composite -> encode), ``report`` (table, JSON, CSV,
PNG) and ``cli`` (the command). Accuracy beside them: ``accuracy`` (MediaPipe scored by the same code
as ``goselfies evaluate``) and ``compare`` (two ``evaluate --json`` results, image by image).
"""
