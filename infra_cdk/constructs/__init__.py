"""Constructs with secure defaults; the nested stacks assemble them and pass objects along."""
