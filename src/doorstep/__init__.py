"""Doorstep: an open-source last-mile delivery platform.

The public library API is re-exported here; see ``docs/`` for the guides.
"""

from doorstep.gate import GateSettings, Report, validate, validate_files

__version__ = "0.1.0"

__all__ = ["GateSettings", "Report", "__version__", "validate", "validate_files"]
