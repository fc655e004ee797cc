"""Go-selfies: person segmentation and background replacement for photos, videos and live calls."""
__version__ = "0.1.0"
