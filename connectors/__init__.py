"""Connector plugins: each one knows one system and nothing of the engine's internals."""
