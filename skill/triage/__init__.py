"""The triage itself, with no I/O: the engine step, reading what people type, and rendering
questions and advice into words."""
