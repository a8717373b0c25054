"""Code shared by every function of Tweet Capture API: no Flask app, no entry points."""

__version__ = "1.0.0"
