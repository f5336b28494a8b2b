"""SentinelZero: a declarative process supervisor. This module holds the version and nothing else."""

__version__ = "0.1.0"
