"""The root stack and its nested stacks, one per concern."""
