"""Reaching models: every engine speaks the OpenAI chat API through one client path."""
