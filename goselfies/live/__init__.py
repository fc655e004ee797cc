"""Live sessions: the threaded capture -> segment -> composite pipeline, its settings, and the session that front ends drive."""
