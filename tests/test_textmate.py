"""The TextMate grammar shipped for co (passes/ide/co.tmLanguage.json), for
editors that color without a server: valid JSON, patterns that compile,
and every example colored as the lexer reads it.

A TextMate engine tries, at each place in a line, every pattern of the
grammar and takes the one whose match starts first (the first listed on a
tie). `color` below does just that; it is enough for this grammar, whose
patterns are all one-line `match` rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ir.surface_syntax import scan
from passes.ide.positions import Positions

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "passes" / "ide" / "co.tmLanguage.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.co"))

# The lexer's kind of token -> the scope the grammar must give it.
SCOPE_OF_KIND = {"ident": "variable.other.co", "int": "constant.numeric.integer.decimal.co",
                 "tag": "constant.other.enummember.co", "comment": "comment.line.number-sign.co"}
SCOPE_OF_WORD = {"true": "constant.language.boolean.co", "false": "constant.language.boolean.co",
                 "\\": "storage.type.function.lambda.co"}


def rules() -> list[tuple[str, re.Pattern]]:
    """The grammar's patterns in order, includes resolved, compiled."""
    grammar = json.loads(GRAMMAR.read_text())
    found = []
    for pattern in grammar["patterns"]:
        rule = grammar["repository"][pattern["include"].removeprefix("#")]
        found.append((rule["name"], re.compile(rule["match"])))
    return found


def color(line: str, grammar: list[tuple[str, re.Pattern]]) -> list[tuple[int, int, str]]:
    """(start, end, scope) of every colored piece of the line."""
    pieces, at = [], 0
    while True:
        matches = [(m, scope) for scope, regex in grammar if (m := regex.search(line, at)) and m.end() > m.start()]
        if not matches:
            return pieces
        first, scope = min(matches, key=lambda found: found[0].start())  # min keeps the first on a tie
        pieces.append((first.start(), first.end(), scope))
        at = first.end()


def expected_scope(kind: str, text: str) -> str:
    if text in SCOPE_OF_WORD:
        return SCOPE_OF_WORD[text]
    if kind == "keyword":
        return "keyword.control.co"
    if kind == "symbol":
        return "punctuation.separator.co" if text in "(){}," else "keyword.operator.co"
    return SCOPE_OF_KIND[kind]


def test_the_grammar_is_json_whose_patterns_compile():
    grammar = json.loads(GRAMMAR.read_text())
    assert (grammar["scopeName"], grammar["fileTypes"]) == ("source.co", ["co"])
    assert len(rules()) == len(grammar["patterns"]) == len(grammar["repository"])


def test_keywords_inside_names_and_comments_are_not_keywords():
    line = "let in' = 1 in in' + x_let; spawn2 # let"
    assert [(line[start:end], scope.split(".")[0]) for start, end, scope in color(line, rules())] == [
        ("let", "keyword"), ("in'", "variable"), ("=", "keyword"), ("1", "constant"), ("in", "keyword"),
        ("in'", "variable"), ("+", "keyword"), ("x_let", "variable"), (";", "keyword"), ("spawn2", "variable"),
        ("# let", "comment")]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_colored_as_the_lexer_reads_it(path):
    text = path.read_text()
    positions, lines, grammar = Positions(text), text.split("\n"), rules()
    expected = [(*positions.position(token.span.start), token.text, expected_scope(token.kind, token.text))
                for token in scan(text)]
    colored = [(number, start, line[start:end], scope)
               for number, line in enumerate(lines) for start, end, scope in color(line, grammar)]
    assert colored == expected
    assert any(scope == "keyword.control.co" for *_, scope in colored)
