"""JSON schemas turned into GBNF grammars, for llama.cpp to keep an answer to (structured
output, tool calls).

The web process converts, so that a schema it cannot honour is refused with a 400 naming
the problem before anything is queued (the web never imports llama_cpp, whose converter
lives there). The same facts as llama.cpp's own converter (common/json-schema-to-grammar):
one rule per schema node, JSON's primitives, bounded whitespace, properties in the
schema's order with the optional ones optional.

Supported: `type` (one or a list), `enum`, `const`, `anyOf`/`oneOf`, a one-element
`allOf`, local `$ref`s (`#/$defs/...`, `#/definitions/...`, `#`, recursion included),
objects (`properties`, `required`, `additionalProperties` false or a schema for an object
without properties), arrays (`items`, `minItems`, `maxItems`), strings (`minLength`,
`maxLength`, `format` date, time, date-time and uuid; other formats are plain strings),
`nullable`. Annotations (`title`, `description`, `default`, ...) are ignored. Anything
else (`pattern`, numeric bounds, `not`, ...) raises SchemaUnsupported: a grammar that
ignored it would let the model write what the schema forbids.
"""

import json
import re

MAX_GRAMMAR_CHARS = 200_000  # as webui.chat.sampling takes them
MAX_NODES = 5_000

ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$schema",
        "$id",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "discriminator",
        "$defs",
        "definitions",
        "strict",
    }
)
KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "format",
        "nullable",
    }
)
TYPES = ("string", "number", "integer", "boolean", "null", "object", "array")

# JSON's primitives, as llama.cpp writes them: whitespace bounded, numbers of at most 16
# digits, strings of JSON's characters and escapes.
PRIMITIVES = {
    "space": r'| " " | "\n" [ \t]{0,20}',
    "boolean": '("true" | "false") space',
    "null": '"null" space',
    "integral-part": "[0] | [1-9] [0-9]{0,15}",
    "decimal-part": "[0-9]{1,16}",
    "number": '("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space',
    "integer": '("-"? integral-part) space',
    "char": r'[^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})',
    "string": r'"\"" char* "\"" space',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" space ( string ":" space value ("," space string ":" space value)* )? "}" space',
    "array": '"[" space ( value ("," space value)* )? "]" space',
    "date": '[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )',
    "time": (
        '([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? '
        '( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )'
    ),
    "date-time": 'date "T" time',
    "uuid": (
        '[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" '
        "[0-9a-fA-F]{12}"
    ),
}
_NEEDS = {
    "boolean": ["space"],
    "null": ["space"],
    "number": ["integral-part", "decimal-part", "space"],
    "integer": ["integral-part", "space"],
    "string": ["char", "space"],
    "value": ["object", "array", "string", "number", "boolean", "null"],
    "object": ["string", "value", "space"],
    "array": ["value", "space"],
    "date-time": ["date", "time"],
}
FORMATS = ("date", "time", "date-time", "uuid")
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9-]+")


class SchemaUnsupported(ValueError):
    """A schema this converter cannot turn into a grammar; the text says where and why."""


def literal(text: str) -> str:
    """A GBNF literal matching exactly `text`."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\r":
            escaped.append("\\r")
        elif char == "\t":
            escaped.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\x{ord(char):02X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


class Grammar:
    """Rules built up from schemas and hand-written pieces, then written out with a root."""

    def __init__(self):
        self.rules: dict[str, str] = {}
        self._refs: dict[tuple[int, str], str] = {}
        self._nodes = 0

    def rule(self, name: str, body: str) -> str:
        """Add a rule (under a fresh name if taken by another body); return its name."""
        base = _NAME_CHARS.sub("-", name).strip("-")[:60] or "rule"
        if self.rules.get(base) == body and base not in PRIMITIVES:
            return base
        name = self._fresh(base)
        self.rules[name] = body
        return name

    def _fresh(self, name: str) -> str:
        base = _NAME_CHARS.sub("-", name).strip("-")[:60] or "rule"
        candidate, number = base, 1
        while candidate in self.rules or candidate in PRIMITIVES or candidate == "root":
            number += 1
            candidate = f"{base}-{number}"
        return candidate

    def primitive(self, name: str) -> str:
        if name not in self.rules:
            self.rules[name] = PRIMITIVES[name]
            for needed in _NEEDS.get(name, ()):
                self.primitive(needed)
        return name

    def value(self, value) -> str:
        """An expression matching one JSON value exactly, then whitespace."""
        self.primitive("space")
        return literal(json.dumps(value, ensure_ascii=False)) + " space"

    def object(self, name: str, members: list[tuple[str, str]]) -> str:
        """A rule for an object of these members, all present, in this order."""
        self.primitive("space")
        pairs = [f'{literal(json.dumps(key))} space ":" space {rule}' for key, rule in members]
        body = ' "," space '.join(pairs)
        return self.rule(name, f'"{{" space {body} "}}" space' if body else '"{" space "}" space')

    def array(self, name: str, item: str, minimum: int = 0, maximum: int | None = None) -> str:
        """A rule for an array of `item`s, from `minimum` to `maximum` of them."""
        self.primitive("space")
        return self.rule(name, f'"[" space {_repeat(item, minimum, maximum)} "]" space')

    def schema(self, schema, name: str = "schema", where: str = "schema") -> str:
        """A rule matching the JSON values the schema allows; raises SchemaUnsupported."""
        return self._visit(schema, name, where, schema)

    def text(self, root: str) -> str:
        """The grammar, starting at `root` (a rule name or an expression)."""
        lines = [f"root ::= {root}", *(f"{name} ::= {body}" for name, body in self.rules.items())]
        grammar = "\n".join(lines) + "\n"
        if len(grammar) > MAX_GRAMMAR_CHARS:
            raise SchemaUnsupported(
                f"the schema makes a grammar of {len(grammar):,} characters; the most is "
                f"{MAX_GRAMMAR_CHARS:,}"
            )
        return grammar

    # The schema's nodes.

    def _visit(self, schema, name: str, where: str, document) -> str:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise SchemaUnsupported(f"the schema has more than {MAX_NODES:,} parts")
        if schema is True or schema == {}:
            return self.primitive("value")
        if not isinstance(schema, dict):
            raise SchemaUnsupported(f"{where} must be a JSON schema object")
        unknown = sorted(set(schema) - ANNOTATIONS - KEYWORDS)
        if unknown:
            raise SchemaUnsupported(f"{where}: '{unknown[0]}' is not supported")
        if schema.get("nullable") is True:
            rest = {k: v for k, v in schema.items() if k != "nullable"}
            inner = self._visit(rest, name, where, document)
            return self.rule(name + "-or-null", f"{inner} | {self.primitive('null')}")
        if "$ref" in schema:
            return self._ref(schema["$ref"], where, document)
        if "const" in schema:
            return self.rule(name, self.value(schema["const"]))
        if "enum" in schema:
            options = schema["enum"]
            if not isinstance(options, list) or not options:
                raise SchemaUnsupported(f"{where}.enum must be a non-empty list")
            return self.rule(name, " | ".join(self.value(option) for option in options))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._union(schema[key], name, f"{where}.{key}", document)
        if "allOf" in schema:
            parts = schema["allOf"]
            if not isinstance(parts, list) or len(parts) != 1:
                raise SchemaUnsupported(f"{where}.allOf is supported with one schema only")
            return self._visit(parts[0], name, f"{where}.allOf[0]", document)
        kind = schema.get("type")
        if isinstance(kind, list):
            if not kind or not all(k in TYPES for k in kind):
                raise SchemaUnsupported(f"{where}.type must name JSON types")
            alternatives = [
                self._visit({**schema, "type": k}, f"{name}-{k}", where, document) for k in kind
            ]
            return self.rule(name, " | ".join(alternatives))
        if kind is None:
            if "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema:
                kind = "array"
            else:
                return self.primitive("value")
        if kind not in TYPES:
            raise SchemaUnsupported(f"{where}.type {kind!r} is not a JSON type")
        return getattr(self, f"_{kind}")(schema, name, where, document)

    def _union(self, options, name: str, where: str, document) -> str:
        if not isinstance(options, list) or not options:
            raise SchemaUnsupported(f"{where} must be a non-empty list")
        alternatives = [
            self._visit(option, f"{name}-{index}", f"{where}[{index}]", document)
            for index, option in enumerate(options)
        ]
        return self.rule(name, " | ".join(alternatives))

    def _ref(self, ref, where: str, document) -> str:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaUnsupported(f"{where}: only local $refs (#/...) are supported")
        key = (id(document), ref)
        if key in self._refs:
            return self._refs[key]
        target = document
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise SchemaUnsupported(f"{where}: $ref {ref!r} points at nothing")
            target = target[part]
        # Named before it is visited, so that a recursive schema refers to itself.
        name = self._fresh("ref-" + ref.rsplit("/", 1)[-1])
        self.rules[name] = ""
        self._refs[key] = name
        body = self._visit(target, name + "-body", ref, document)
        self.rules[name] = body
        return name

    def _string(self, schema, name, where, document) -> str:
        self.primitive("space")
        low, high = _bounds(schema, "minLength", "maxLength", where)
        fmt = schema.get("format")
        if fmt in FORMATS:
            if low or high is not None:
                raise SchemaUnsupported(f"{where}: a length with a format is not supported")
            return self.rule(name, f'"\\"" {self.primitive(fmt)} "\\"" space')
        if low or high is not None:
            self.primitive("char")
            chars = "char" + (_times(low, high) or "{0}")
            return self.rule(name, f'"\\"" {chars} "\\"" space')
        return self.primitive("string")

    def _number(self, schema, name, where, document) -> str:
        return self.primitive("number")

    def _integer(self, schema, name, where, document) -> str:
        return self.primitive("integer")

    def _boolean(self, schema, name, where, document) -> str:
        return self.primitive("boolean")

    def _null(self, schema, name, where, document) -> str:
        return self.primitive("null")

    def _array(self, schema, name, where, document) -> str:
        low, high = _bounds(schema, "minItems", "maxItems", where)
        items = schema.get("items", True)
        if isinstance(items, list):
            raise SchemaUnsupported(f"{where}.items must be one schema (tuples are not supported)")
        item = self._visit(items, f"{name}-item", f"{where}.items", document)
        return self.array(name, item, low, high)

    def _object(self, schema, name, where, document) -> str:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        extra = schema.get("additionalProperties")
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise SchemaUnsupported(f"{where}: properties must be an object, required a list")
        if missing := [key for key in required if key not in properties]:
            raise SchemaUnsupported(f"{where}: required property {missing[0]!r} is not defined")
        if not properties:
            if extra in (None, True):
                return self.primitive("object")
            if extra is False:
                return self.object(name, [])
            values = self._visit(extra, f"{name}-value", f"{where}.additionalProperties", document)
            self.primitive("string")
            pair = f'string ":" space {values}'
            return self.rule(name, f'"{{" space ( {pair} ("," space {pair})* )? "}}" space')
        # Only the properties named are written: a subset of what additionalProperties
        # allows, whatever it says.
        members = []
        for key, sub in properties.items():
            rule = self._visit(sub, f"{name}-{key}", f"{where}.properties.{key}", document)
            pair = self.rule(
                f"{name}-{key}-kv", f'{literal(json.dumps(key))} space ":" space {rule}'
            )
            members.append((pair, key in required))
        return self.rule(name, f'"{{" space {self._members(name, members)} "}}" space')

    def _members(self, name: str, members: list[tuple[str, bool]]) -> str:
        """The members in order, each optional one present or not, commas between.

        Built from the end: for each position, what may follow when nothing was written
        yet, and when something was (then each member comes after a comma). One rule per
        position keeps the grammar linear in the number of members.
        """
        first, after = "", ""  # for the members past the last
        for index in range(len(members) - 1, -1, -1):
            pair, needed = members[index]
            if needed:
                first_body = _seq(pair, after)
                after_body = _seq('"," space', pair, after)
            else:
                first_body = (
                    f"{_seq(pair, after)} | {first}" if first else f"( {_seq(pair, after)} )?"
                )
                after_body = _seq(f'( "," space {pair} )?', after)
            first = self.rule(f"{name}-from-{index}", first_body)
            if index:  # the first member never follows another
                after = self.rule(f"{name}-after-{index}", after_body)
        self.primitive("space")
        return first


def _seq(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _repeat(item: str, minimum: int, maximum: int | None) -> str:
    """`item` from `minimum` to `maximum` times, comma-separated."""
    if maximum == 0:
        return ""
    rest = _times(max(minimum - 1, 0), None if maximum is None else maximum - 1)
    more = f'( "," space {item} ){rest}' if rest is not None else ""
    return _seq(item, more) if minimum else f"( {_seq(item, more)} )?"


def _times(low: int, high: int | None) -> str | None:
    """GBNF's repetition suffix for low to high times; None for exactly none."""
    if high == 0:
        return None
    if (low, high) == (0, None):
        return "*"
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low},}}" if high is None else f"{{{low},{high}}}"


def _bounds(schema: dict, low_key: str, high_key: str, where: str) -> tuple[int, int | None]:
    low, high = schema.get(low_key, 0), schema.get(high_key)
    for key, value in ((low_key, low), (high_key, high)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise SchemaUnsupported(f"{where}.{key} must be a non-negative integer")
    if high is not None and high < low:
        raise SchemaUnsupported(f"{where}: {high_key} is below {low_key}")
    if (high or low) > 10_000:
        raise SchemaUnsupported(f"{where}: {low_key}/{high_key} above 10,000 are not supported")
    return low, high


def schema_to_gbnf(schema) -> str:
    """The grammar of the JSON values `schema` allows; raises SchemaUnsupported."""
    grammar = Grammar()
    return grammar.text(grammar.schema(schema))
