"""The breaking-change check of the GraphQL schema.

Compares two SDL files with graphql-core's `find_breaking_changes` (the
reference implementation's rules: a removed type or field, an argument
added as required, a changed type, a removed enum value, ...) and fails
unless CHANGELOG.md's "## Unreleased" section names every breaking change
by its schema coordinate (`Type.field`, `Type.field(argument:)`,
`Enum.VALUE`, or the type name), so that a client developer reading the
changelog learns what to change.

    python breaking.py BASE.graphql NEW.graphql CHANGELOG.md
    python breaking.py --self-test
    python breaking.py --without-field SCHEMA.graphql Type.field   # a broken copy

Exit status 0 when there is no unnamed breaking change, 1 otherwise.
"""

import re
import sys

from graphql import build_schema, parse, print_ast
from graphql.utilities import find_breaking_changes


def coordinate(description: str) -> str:
    """The schema coordinate a graphql-core description is about: for a
    removed enum value `Enum.VALUE`; else its first dotted name
    (`Case.reference`), else its first name (`CaseFilter`)."""
    enum = re.match(r"\s*([_A-Za-z][_0-9A-Za-z]*) was removed from enum type ([_A-Za-z][_0-9A-Za-z]*)", description)
    if enum:
        return f"{enum.group(2)}.{enum.group(1)}"
    dotted = re.search(r"\b([_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*)\b", description)
    if dotted:
        return dotted.group(1)
    name = re.match(r"\s*([_A-Za-z][_0-9A-Za-z]*)", description)
    return name.group(1) if name else description


def unreleased(changelog: str) -> str:
    """The text of the changelog's "## Unreleased" section."""
    match = re.search(r"^## Unreleased\s*$(.*?)(?=^## |\Z)", changelog, re.M | re.S)
    return match.group(1) if match else ""


def unnamed(base_sdl: str, new_sdl: str, changelog: str) -> list:
    """The breaking changes from `base_sdl` to `new_sdl` that the
    changelog's Unreleased section does not name."""
    changes = find_breaking_changes(build_schema(base_sdl), build_schema(new_sdl))
    named = unreleased(changelog)
    missing = []
    for change in changes:
        where = coordinate(change.description)
        if not re.search(r"(?<![_0-9A-Za-z.])" + re.escape(where) + r"(?![_0-9A-Za-z])", named):
            missing.append(f"{change.type.name}: {change.description} (name `{where}` in CHANGELOG.md)")
    return missing


def without_field(sdl: str, where: str) -> str:
    """`sdl` with the field `Type.field` removed (for the negative check)."""
    type_name, field_name = where.split(".")
    document = parse(sdl)
    definitions = []
    for definition in document.definitions:
        if getattr(definition, "name", None) and definition.name.value == type_name:
            fields = tuple(f for f in definition.fields if f.name.value != field_name)
            if len(fields) == len(definition.fields):
                raise SystemExit(f"{where} is not in the schema")
            definition.fields = fields
        definitions.append(definition)
    document.definitions = tuple(definitions)
    return print_ast(document)


def self_test() -> None:
    base = '''
    type Query { case(id: ID!): Case  cases(first: Int): [Case!]! }
    type Case { id: ID! reference: String! status: Status! }
    enum Status { OPEN CLOSED }
    '''
    compatible = base.replace("status: Status!", "status: Status! closedAt: String")
    broken = base.replace("reference: String! ", "").replace("CLOSED", "")
    assert unnamed(base, base, "") == [], "no change, nothing to name"
    assert unnamed(base, compatible, "") == [], "an added field is not breaking"
    missing = unnamed(base, broken, "# Changelog\n\n## Unreleased\n")
    assert len(missing) == 2, missing
    assert any("Case.reference" in m for m in missing), missing
    assert any("Status.CLOSED" in m for m in missing), missing
    half = "# Changelog\n\n## Unreleased\n- Removed `Case.reference`: use `Case.id`.\n\n## 0.1.0\n- Status.CLOSED\n"
    missing = unnamed(base, broken, half)
    assert len(missing) == 1 and "Status.CLOSED" in missing[0], "only Unreleased counts: %s" % missing
    both = half.replace("use `Case.id`.", "use `Case.id`.\n- Removed `Status.CLOSED`.")
    assert unnamed(base, broken, both) == [], "every change named"
    assert unnamed(base, broken, "## Unreleased\n- Case.referenceNumber\n"), "a longer name is not the name"
    print("breaking-change check: self-test passed")


def main(argv: list) -> int:
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) == 4 and argv[1] == "--without-field":
        print(without_field(open(argv[2], encoding="utf-8").read(), argv[3]))
        return 0
    if len(argv) != 4:
        print(__doc__)
        return 2
    base, new, changelog = (open(path, encoding="utf-8").read() for path in argv[1:])
    missing = unnamed(base, new, changelog)
    for line in missing:
        print(f"schema: breaking change not in CHANGELOG.md's Unreleased section: {line}")
    if not missing:
        print("schema: no breaking change that CHANGELOG.md does not name")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
