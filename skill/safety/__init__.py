"""Clinical safety tooling: the vignette runner and the flowchart of the triage script."""
