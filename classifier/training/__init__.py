"""Training: the commands and shared helpers that build the classifier's artefacts."""
