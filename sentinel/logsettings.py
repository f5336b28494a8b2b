"""The names of the reconciler log's formats and levels, in one place for the config language
(`log:`), the CLI (`up --log-format`) and `sentinel.log`; the standard library only, so that
`sentinel --help` does not pay for structlog or Pydantic."""

from __future__ import annotations

from typing import Literal, get_args

LogFormat = Literal["auto", "console", "logfmt", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
