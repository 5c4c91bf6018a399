"""Reading one Athena statement: its kind, its syntax errors, its execution parameters.

Athena classifies a query before running it (``StatementType`` / ``SubstatementType``), refuses
some at ``StartQueryExecution`` (:class:`InvalidRequest`: syntax errors, several statements), and
substitutes ``?`` execution parameters into DML. Hive statements sqlglot leaves as
``exp.Command`` (``SHOW ...``, ``MSCK``, multi-partition ``ALTER TABLE ... ADD``) are read with
:class:`TokenCursor` over Hive's tokenizer.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.model import StatementType

log = logging.getLogger(__name__)


class InvalidRequest(AthenaSqlError):
    """Athena refuses the statement at ``StartQueryExecution`` (``InvalidRequestException``).

    No query execution is created. ``error_code`` is the ``AthenaErrorCode`` of the response
    (``MALFORMED_QUERY``, ``INVALID_INPUT``); ``reason`` is the response's ``Message``.
    """

    def __init__(
        self, kind: str, message: str, line: int | None = None, column: int | None = None,
        error_code: str = "MALFORMED_QUERY",
    ) -> None:
        self.error_code = error_code
        super().__init__(kind, message, line, column)

    @property
    def reason(self) -> str:
        where = f"line {self.line}:{self.column}: " if self.line is not None else ""
        return f"{where}{self.message}"


@dataclasses.dataclass(frozen=True)
class Classification:
    """``StatementType`` and ``SubstatementType`` of a statement, as Athena reports them."""

    statement_type: StatementType
    substatement_type: str


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


class _HiveTokenizer(Hive.Tokenizer):
    # Hive's tokenizer turns everything after SHOW / MSCK into one string; read it all as tokens.
    COMMANDS: ClassVar[set[TokenType]] = set()


def hive_tokens(sql: str) -> list[Token]:
    """Hive tokens of ``sql`` (backtick identifiers, ``'`` strings with backslash escapes)."""
    try:
        return _HiveTokenizer().tokenize(sql)
    except TokenError as err:
        raise InvalidRequest("SYNTAX_ERROR", f"Error tokenizing the statement: {err}", 1, 1) from err


def position(sql: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, column


class TokenCursor:
    """A small recursive-descent reader over Hive tokens, for the statements sqlglot leaves as text."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = [t for t in hive_tokens(sql) if t.token_type != TokenType.SEMICOLON]
        # Multi-word keywords ("MSCK REPAIR") become one token; split them into words.
        words: list[Token] = []
        for tok in self.tokens:
            parts = tok.text.split() if tok.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) else []
            if len(parts) > 1:
                offset = tok.start
                for part in parts:
                    start = self.sql.find(part, offset) if self.sql.find(part, offset) >= 0 else offset
                    words.append(Token(TokenType.VAR, part, tok.line, tok.col, start, start + len(part) - 1))
                    offset = start + len(part)
            else:
                words.append(tok)
        self.tokens = words
        self.i = 0

    def peek(self, k: int = 0) -> Token | None:
        """The token ``k`` places ahead (None past the end)."""
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, k: int = 0) -> str:
        """The upper-case text of a token that is not a string or quoted identifier ('' otherwise)."""
        tok = self.peek(k)
        if tok is None or tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
            return ""
        return tok.text.upper()

    def at_end(self) -> bool:
        """Whether every token was read."""
        return self.i >= len(self.tokens)

    def accept(self, *words: str) -> bool:
        """Consume ``words`` if the next tokens are exactly them."""
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        """Consume ``words`` or fail with a syntax error."""
        if not self.accept(*words):
            raise self.error(f"expecting '{' '.join(words)}'")

    def error(self, message: str) -> InvalidRequest:
        """A syntax error at the current token, with its line and column."""
        tok = self.peek()
        if tok is None:
            line, col = position(self.sql, len(self.sql.rstrip()))
            return InvalidRequest("SYNTAX_ERROR", f"mismatched input '<EOF>'. {message}", line, col)
        line, col = position(self.sql, tok.start)
        return InvalidRequest("SYNTAX_ERROR", f"mismatched input '{tok.text}'. {message}", line, col)

    def next(self) -> Token:
        """Consume and return the next token."""
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end of statement")
        self.i += 1
        return tok

    def name(self) -> str:
        """An identifier (bare or backquoted), lower case."""
        tok = self.peek()
        if tok is None or tok.token_type in (TokenType.STRING, TokenType.NUMBER) or not tok.text:
            raise self.error("expecting a name")
        if tok.token_type not in (TokenType.IDENTIFIER, TokenType.VAR) and not tok.text.replace("_", "").isalnum():
            raise self.error("expecting a name")
        self.i += 1
        return tok.text.lower()

    def qualified_name(self) -> tuple[list[str], int]:
        """``a.b.c`` as its parts, and the offset where it starts."""
        start = self.peek().start if self.peek() is not None else len(self.sql)
        parts = [self.name()]
        while self.peek() is not None and self.peek().token_type == TokenType.DOT:
            self.i += 1
            parts.append(self.name())
        return parts, start

    def string(self) -> str:
        """Consume a string literal and return its text."""
        tok = self.peek()
        if tok is None or tok.token_type != TokenType.STRING:
            raise self.error("expecting a string literal")
        self.i += 1
        return tok.text

    def is_string(self) -> bool:
        """Whether the next token is a string literal."""
        tok = self.peek()
        return tok is not None and tok.token_type == TokenType.STRING

    def symbol(self, token_type: TokenType) -> bool:
        """Consume the next token if it is of ``token_type``."""
        tok = self.peek()
        if tok is not None and tok.token_type == token_type:
            self.i += 1
            return True
        return False

    def expect_symbol(self, token_type: TokenType, text: str) -> None:
        """Consume a token of ``token_type`` (shown as ``text`` in errors) or fail."""
        if not self.symbol(token_type):
            raise self.error(f"expecting '{text}'")

    def value(self) -> str:
        """A literal partition value: a string, a number, or a bare word; as text."""
        tok = self.peek()
        if tok is None:
            raise self.error("expecting a value")
        negative = False
        if tok.token_type == TokenType.DASH:
            negative = True
            self.i += 1
            tok = self.peek()
            if tok is None:
                raise self.error("expecting a value")
        if tok.token_type in (TokenType.STRING, TokenType.NUMBER, TokenType.VAR, TokenType.TRUE, TokenType.FALSE):
            self.i += 1
            return ("-" if negative else "") + tok.text
        raise self.error("expecting a literal")

    def done(self) -> None:
        """Fail unless every token was read."""
        if not self.at_end():
            raise self.error("expecting end of statement")


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------

_SHOW = {
    "TABLES": "SHOW_TABLES", "DATABASES": "SHOW_DATABASES", "SCHEMAS": "SHOW_DATABASES",
    "PARTITIONS": "SHOW_PARTITIONS", "COLUMNS": "SHOW_COLUMNS", "TBLPROPERTIES": "SHOW_TABLE_PROPERTIES",
    "VIEWS": "SHOW_VIEWS", "FUNCTIONS": "SHOW_FUNCTIONS",
}
_ALTER = [
    (("ADD", "COLUMNS"), "ALTER_TABLE_ADD_COLUMNS"),
    (("REPLACE", "COLUMNS"), "ALTER_TABLE_REPLACE_COLUMN"),
    (("CHANGE",), "ALTER_TABLE_CHANGE_COLUMN"),
    (("DROP", "COLUMN"), "ALTER_TABLE_DROP_COLUMN"),
    (("RENAME", "TO"), "ALTER_TABLE_RENAME_TO"),
    (("ADD",), "ALTER_TABLE_ADD_PARTITION"),
    (("DROP",), "ALTER_TABLE_DROP_PARTITION"),
    (("SET", "TBLPROPERTIES"), "ALTER_TABLE_SET_TBLPROPERTIES"),
    (("SET", "LOCATION"), "ALTER_TABLE_SET_LOCATION"),
]


def _words(sql: str) -> list[str]:
    try:
        toks = hive_tokens(sql)
    except InvalidRequest:
        return []
    out: list[str] = []
    for tok in toks:
        if tok.token_type == TokenType.STRING:
            out.append("'")
        elif tok.token_type == TokenType.IDENTIFIER:
            out.append("`")
        else:
            out.extend(tok.text.upper().split() or [tok.text])
    return out


def classify(sql: str) -> Classification:
    """Athena's ``StatementType``/``SubstatementType`` for ``sql``, from its leading keywords.

    Leading comments are skipped, as on Athena. Unknown statements raise :class:`InvalidRequest`.
    """
    words = _words(sql)
    first = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    if first in ("SELECT", "WITH", "(", "TABLE"):
        return Classification("DML", "SELECT")
    if first == "VALUES":
        return Classification("DML", "VALUES")
    if first in ("INSERT", "UPDATE", "DELETE", "MERGE", "UNLOAD"):
        return Classification("DML", first)
    if first == "EXPLAIN":
        return Classification("DML", "EXPLAIN")
    if first in ("DESCRIBE", "DESC"):
        return Classification("UTILITY", "DESCRIBE_TABLE")
    if first == "SHOW":
        if second == "CREATE":
            view = len(words) > 2 and words[2] == "VIEW"
            return Classification("UTILITY", "SHOW_CREATE_VIEW" if view else "SHOW_CREATE_TABLE")
        if second in _SHOW:
            return Classification("UTILITY", _SHOW[second])
    if first == "MSCK":
        return Classification("DDL", "MSCK_REPAIR")
    if first == "CREATE":
        rest = words[1:]
        if rest[:2] == ["OR", "REPLACE"]:
            rest = rest[2:]
        if rest and rest[0] in ("DATABASE", "SCHEMA"):
            return Classification("DDL", "CREATE_DATABASE")
        if rest and rest[0] == "VIEW":
            return Classification("DDL", "CREATE_VIEW")
        if "TABLE" in rest[:2]:
            ctas = any(w == "AS" and nxt in ("SELECT", "WITH", "VALUES", "(", "TABLE")
                       for w, nxt in itertools.pairwise(words))
            return Classification("DDL", "CREATE_TABLE_AS_SELECT" if ctas else "CREATE_TABLE")
    if first == "DROP":
        if second in ("DATABASE", "SCHEMA"):
            return Classification("DDL", "DROP_DATABASE")
        if second == "VIEW":
            return Classification("DDL", "DROP_VIEW")
        if second == "TABLE":
            return Classification("DDL", "DROP_TABLE")
    if first == "ALTER":
        if second in ("DATABASE", "SCHEMA"):
            return Classification("DDL", "ALTER_DATABASE")
        if second == "TABLE":
            tail = words[2:]
            for i in range(len(tail)):
                for pattern, sub in _ALTER:
                    if tail[i : i + len(pattern)] == list(pattern):
                        return Classification("DDL", sub)
            return Classification("DDL", "ALTER_TABLE")
    if not first:
        raise InvalidRequest("SYNTAX_ERROR", "mismatched input '<EOF>'", *position(sql, len(sql)))
    raise InvalidRequest("SYNTAX_ERROR", "Queries of this type are not supported", 1, 1)


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def _syntax_error(sql: str, err: ParseError | TokenError) -> InvalidRequest:
    if isinstance(err, ParseError) and err.errors:
        info = err.errors[0]
        highlight = info.get("highlight") or ""
        line, col = info.get("line") or 1, info.get("col") or 1
        if highlight and "\n" not in highlight:
            col = max(1, col - len(highlight) + 1)
        description = str(info.get("description") or "syntax error").split(". Line")[0]
        return InvalidRequest("SYNTAX_ERROR", f"mismatched input '{highlight}'. {description}", line, col)
    return InvalidRequest("SYNTAX_ERROR", f"Error tokenizing the statement: {err}", 1, 1)


def parse_statement(sql: str) -> exp.Expression:
    """Parse exactly one Athena statement with sqlglot (``read="athena"``).

    Raises
    ------
    InvalidRequest
        On a syntax error (with Athena's ``line:column``) or when ``sql`` holds several statements.
    """
    try:
        parsed = sqlglot.parse(sql, read="athena")
    except (ParseError, TokenError) as err:
        raise _syntax_error(sql, err) from err
    statements = [e for e in parsed if e is not None and not isinstance(e, exp.Semicolon)]
    if len(statements) > 1:
        raise InvalidRequest("SYNTAX_ERROR", f"Only one sql statement is allowed. Got: {sql}")
    if not statements:
        raise InvalidRequest("SYNTAX_ERROR", "mismatched input '<EOF>'", *position(sql, len(sql)))
    return statements[0]


# ---------------------------------------------------------------------------------------------
# Execution parameters
# ---------------------------------------------------------------------------------------------


def _parameter_sql(value: str) -> str:
    """How Athena binds one ``ExecutionParameters`` value.

    A value that parses as an expression without column references is used as that expression
    (``'abc'``, ``5``, ``DATE '2020-01-01'``); anything else becomes a string literal (``abc``
    -> ``'abc'``), as measured on Athena.
    """
    try:
        parsed = sqlglot.parse_one(f"SELECT ({value})", read="athena")
        item = parsed.expressions[0] if isinstance(parsed, exp.Select) and len(parsed.expressions) == 1 else None
        if item is not None and parsed.args.get("from_") is None and not item.find(exp.Column, exp.Star):
            inner = item.unnest() if isinstance(item, exp.Paren) else item
            return inner.sql("athena") if isinstance(inner, exp.Literal) else f"({value})"
    except (ParseError, TokenError):
        pass
    return "'" + value.replace("'", "''") + "'"


def substitute_parameters(sql: str, parameters: list[str] | None) -> str:
    """Replace the ``?`` placeholders of a DML statement by ``parameters``, in order.

    Placeholders inside strings and comments are left alone. Parameters given to a statement
    without placeholders are ignored, as on Athena.

    Raises
    ------
    AthenaSqlError
        ``INVALID_PARAMETER_USAGE`` when the number of values differs from the placeholders.
    """
    try:
        tokens = sqlglot.Dialect.get_or_raise("athena").tokenize(sql)
    except TokenError:
        return sql
    marks = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    if not marks:
        return sql
    given = list(parameters or [])
    if len(given) != len(marks):
        raise AthenaSqlError(
            "INVALID_PARAMETER_USAGE", f"Incorrect number of parameters: expected {len(marks)} but found {len(given)}",
            1, 1,
        )
    out = sql
    for tok, value in reversed(list(zip(marks, given, strict=True))):
        out = out[: tok.start] + _parameter_sql(value) + out[tok.end + 1 :]
    return out
