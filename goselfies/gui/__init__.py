"""The Go-selfies desktop window (PySide6). The engine in ``goselfies`` never imports Qt; this package
only drives a ``goselfies.live.pipeline.Pipeline`` from a worker thread and shows what it outputs."""
