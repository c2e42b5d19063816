"""Parses EQL files with the `eql` package (PyPI; Elastic's EQL library). Exit 1 on an error.

That library's grammar predates Elasticsearch EQL's `field : pattern` wildcard operator; those
clauses are rewritten into its `wildcard(field, pattern...)` function (same meaning) first.
Everything else (sequence, by, maxspan, brackets, operators, string escapes) is parsed as written.
"""
import re
import sys

import eql


def endgame_form(query):
    query = re.sub(r"([\w.]+) : \(", r"wildcard(\1, ", query)
    return re.sub(r'([\w.]+) : ("(?:[^"\\]|\\.)*")', r"wildcard(\1, \2)", query)


errors = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    body = "\n".join(l for l in text.splitlines() if not l.startswith("//"))
    try:
        with eql.parser.ignore_missing_functions:
            eql.parse_query(endgame_form(body))
        print(path, "parsed")
    except eql.EqlError as e:
        print(path, "ERROR", e)
        errors += 1
sys.exit(1 if errors else 0)
