"""The platform-neutral conversation: message and reply types, the dialogue engine, its state."""
