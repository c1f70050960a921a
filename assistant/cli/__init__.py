"""The command line: one click group, one service call per command."""
