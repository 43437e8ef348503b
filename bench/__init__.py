"""Benchmarks whose figures the README quotes; each prints the command that reproduces it."""
