"""SQL identifiers (database, table and column names): validated, never taken raw from user text."""

from __future__ import annotations

import re

from gdnb.errors import QueryError

IDENTIFIER_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_identifier(kind: str, value: object) -> str:
    """Return ``value`` when it is a safe SQL identifier, else raise.

    Identifiers cannot be query parameters, so gdnb only puts names into SQL that match
    ``^[a-z_][a-z0-9_]*$``: lower case (Glue stores names lower-cased), no quotes, dots or spaces.

    Parameters
    ----------
    kind
        What the name is, for the message (``"table"``, ``"database"``).
    value
        The name to check.

    Raises
    ------
    QueryError
        When the name does not match, saying what is allowed.
    """
    if not isinstance(value, str) or not IDENTIFIER_RE.match(value):
        raise QueryError(
            f"Invalid {kind} name {value!r}: SQL identifiers must match ^[a-z_][a-z0-9_]*$ "
            "(lower-case letters, digits and underscores; no quotes, dots, spaces or SQL).",
            f"use a plain name such as 'gd_findings'; gdnb never puts a {kind} name it has not checked into SQL.",
        )
    return value


def substitute_identifiers(template: str, names: dict[str, str]) -> str:
    """Replace ``{{name}}`` placeholders with checked identifiers.

    Raises
    ------
    QueryError
        When a value is not a safe identifier or a placeholder has no value.
    """
    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in names:
            raise QueryError(f"The SQL template needs an identifier {{{{{key}}}}} that was not given.",
                             f"pass {key}=<name>.")
        return check_identifier(key, names[key])

    return re.sub(r"\{\{\s*([a-z_]+)\s*\}\}", repl, template)
