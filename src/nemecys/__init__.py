"""nemecys: cybersecurity by design for connected medical devices.

Start with `nemecys.model` (the system model), `nemecys.threats` (rule engine),
`nemecys.risk` (exploitability and patient-harm scoring) and `nemecys.assess`, which runs them
together; `nemecys.cli` is the command line.
"""

__version__ = "0.1.0"
