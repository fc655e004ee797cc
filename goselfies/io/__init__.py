"""Input and output: video and image files (PyAV, OpenCV), cameras, the sinks a frame goes to, the virtual camera."""
