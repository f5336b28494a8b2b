"""'Did you mean' hints for misspelt keys and names. Pure; used by the loader, error reports and the
targets of `start`/`stop`/`restart`/`run`.

A hint is given only for a close match (`SIMILARITY`, difflib's ratio): `on_failure` is not
close to `env_file` (0.67) and gets none from spelling, while a slip such as `comand` (0.92)
does. A key that is really a value written where a key goes (`on_failure: true`) is pointed
to the key the value belongs to (`restart.policy: on-failure`), see `value_hint`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SIMILARITY = 0.75


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word`, if one is at least SIMILARITY alike."""
    import difflib  # only for a misspelling (0.15 MB of memory)

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=SIMILARITY)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or '' when none is close."""
    match = closest(word, choices)
    return f"; did you mean '{match}'?" if match is not None else ""


def value_hint(word: str, values: Mapping[str, str]) -> str:
    """`; did you mean 'restart.policy: on-failure'?` when `word` is one of `values` (value → `key: value`)
    spelt with `_`, `-` or other capitals; '' otherwise."""
    wanted = _plain(word)
    found = [setting for value, setting in sorted(values.items()) if _plain(value) == wanted]
    return f"; did you mean '{found[0]}'?" if found else ""


def _plain(text: str) -> str:
    return text.lower().replace("-", "").replace("_", "").replace(" ", "")
