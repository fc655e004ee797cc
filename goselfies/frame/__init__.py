"""The frame path and its steps: pyramid levels in, a composited frame out (numpy on a CPU, torch on a GPU); the file job."""
