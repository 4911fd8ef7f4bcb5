"""Tokens of MySQL text, from sqlglot's MySQL tokenizer, and a small cursor over them.

HeatWave's statements (``ALTER TABLE t SECONDARY_LOAD``, ``NOT SECONDARY`` columns,
``CALL sys.heatwave_load(...)``) are not all in sqlglot's grammar, so they are parsed
here by hand from tokens; SELECTs go to sqlglot's parser. Tokens keep their offsets into
the original text, which is how result columns get the names MySQL would give them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from lakehouse.errors import ParseError

_DIALECT = MySQL()

# sqlglot types some HeatWave/MySQL words as keywords; compare by text instead.
WORD_TYPES = frozenset(
    {
        TokenType.VAR,
        TokenType.IDENTIFIER,
    }
)


def tokenize(sql: str) -> list[Token]:
    """All tokens of ``sql`` (comments dropped).

    Raises:
        ParseError: unterminated string or identifier.
    """
    return list(_tokens(sql))


def sqlglot_tokens(sql: str) -> list[Token]:
    """sqlglot's own tokens of ``sql``, as its parser takes them.

    A statement is tokenized when it is split from the text, again to find its kind and
    again for its result names; the last texts' tokens are kept so that is done once.

    Raises:
        ParseError: unterminated string or identifier.
    """
    return list(_raw(sql))


@functools.lru_cache(maxsize=64)
def _raw(sql: str) -> tuple[Token, ...]:
    try:
        return tuple(_DIALECT.tokenize(sql))
    except TokenError as exc:
        raise ParseError(f"You have an error in your SQL syntax: {exc}") from None


@functools.lru_cache(maxsize=64)
def _tokens(sql: str) -> tuple[Token, ...]:
    tokens = _raw(sql)
    # sqlglot turns some statements (CALL ...) into one COMMAND token followed by the rest
    # of the text as a STRING; tokenize that rest properly, keeping offsets.
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        out.append(t)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            t.token_type == TokenType.COMMAND
            and nxt is not None
            and nxt.token_type == TokenType.STRING
        ):
            offset = t.end + 1
            rest = sql[offset:]
            for r in _tokens(rest):
                out.append(
                    Token(
                        r.token_type,
                        r.text,
                        r.line + t.line - 1,
                        r.col,
                        r.start + offset,
                        r.end + offset,
                        r.comments,
                    )
                )
            i += 2
            continue
        i += 1
    return tuple(out)


def split_statements(sql: str) -> list[str]:
    """Split on top-level semicolons, keeping each statement's exact text.

    Example:
        >>> split_statements("select 1; select ';'")
        ['select 1', "select ';'"]
    """
    tokens = tokenize(sql)
    out = []
    start = 0
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            text = sql[start : t.start].strip()
            if text:
                out.append(text)
            start = t.end + 1
    rest = sql[start:].strip()
    if rest and any(t.start >= start for t in tokens):
        out.append(rest)
    return out


@dataclass
class Cursor:
    """A cursor over the tokens of one statement, with the text they came from."""

    sql: str
    tokens: list[Token]
    i: int = 0

    @classmethod
    def of(cls, sql: str) -> Cursor:
        return cls(sql, tokenize(sql))

    # ---------------------------------------------------------------- peeking
    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str:
        """Upper-case text of the token ``ahead`` positions on ('' at the end)."""
        t = self.peek(ahead)
        return t.text.upper() if t is not None else ""

    def peek_type(self, ahead: int = 0) -> TokenType | None:
        t = self.peek(ahead)
        return t.token_type if t is not None else None

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def is_word(self, *words: str) -> bool:
        """Whether the next tokens are exactly ``words`` (case-insensitive)."""
        return self._match(words) is not None

    def _match(self, words: tuple[str, ...]) -> int | None:
        # sqlglot merges some keyword pairs into one token ("PRIMARY KEY", "ORDER BY"),
        # so compare word by word across token boundaries; returns tokens covered.
        want = [w.upper() for w in words]
        k = 0
        used = 0
        while k < len(want):
            t = self.peek(used)
            if t is None or t.token_type == TokenType.STRING:
                return None
            parts = t.text.upper().split() or [t.text.upper()]
            if want[k : k + len(parts)] != parts:
                return None
            k += len(parts)
            used += 1
        return used

    # -------------------------------------------------------------- consuming
    def next(self) -> Token:
        t = self.peek()
        if t is None:
            raise self.error("unexpected end of statement")
        self.i += 1
        return t

    def accept(self, *words: str) -> bool:
        """Consume ``words`` if they come next."""
        used = self._match(words)
        if used is None:
            return False
        self.i += used
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(f"expected {' '.join(words)}")

    def accept_type(self, token_type: TokenType) -> Token | None:
        t = self.peek()
        if t is not None and t.token_type == token_type:
            self.i += 1
            return t
        return None

    def identifier(self, what: str = "identifier") -> str:
        """A name: backquoted, or a bare word (keywords allowed, as MySQL mostly does)."""
        t = self.peek()
        if t is None or t.token_type in (
            TokenType.L_PAREN,
            TokenType.R_PAREN,
            TokenType.COMMA,
            TokenType.SEMICOLON,
            TokenType.STRING,
            TokenType.EQ,
            TokenType.DOT,
        ):
            raise self.error(f"expected a {what}")
        self.i += 1
        return t.text

    def qualified_name(self) -> tuple[str | None, str]:
        """``name`` or ``db.name``."""
        first = self.identifier("name")
        if self.accept_type(TokenType.DOT):
            return first, self.identifier("name")
        return None, first

    def string(self, what: str = "string") -> str:
        t = self.peek()
        if t is None or t.token_type not in (TokenType.STRING, TokenType.NATIONAL_STRING):
            raise self.error(f"expected a quoted {what}")
        self.i += 1
        return t.text

    def integer(self) -> int:
        t = self.next()
        try:
            return int(t.text)
        except ValueError:
            raise self.error(f"expected a number, found '{t.text}'") from None

    def optional_equals(self) -> None:
        self.accept_type(TokenType.EQ)

    def rest_text(self) -> str:
        """The original text from the current token to the end."""
        t = self.peek()
        return "" if t is None else self.sql[t.start :].strip()

    def text_between(self, first: Token, last: Token) -> str:
        return self.sql[first.start : last.end + 1]

    def skip_parenthesized(self) -> tuple[int, int]:
        """Skip a balanced ``( ... )``; returns the (start, end) offsets of its inside."""
        open_ = self.accept_type(TokenType.L_PAREN)
        if open_ is None:
            raise self.error("expected (")
        depth = 1
        while True:
            t = self.next()
            if t.token_type == TokenType.L_PAREN:
                depth += 1
            elif t.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    return open_.end + 1, t.start

    def error(self, message: str) -> ParseError:
        t = self.peek()
        if t is None:
            near = "at end of input"
        else:
            near = f"near '{self.sql[t.start : t.start + 40]}' at line {t.line}"
        return ParseError(
            f"You have an error in your SQL syntax ({message}); check the manual that "
            f"corresponds to your MySQL server version for the right syntax to use {near}"
        )

    def done(self) -> None:
        if not self.at_end():
            raise self.error("unexpected text")
