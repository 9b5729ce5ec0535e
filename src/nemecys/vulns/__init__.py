"""Vulnerabilities: advisory types, the store interface, matching and scoring."""
