"""Placeholder until its issue lands; its owner replaces this file."""
COMMANDS: list = []
