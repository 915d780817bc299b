#!/usr/bin/env python3
"""Checks rumorctl --json output against tests/schemas/NAME.json (tests/rumorctl_schema.sh).

Usage: rumorctl_schema.py SCHEMA_DIR NAME FILE [--expect-fail]
FILE holds one JSON document or JSON lines (watch); every document must fit the schema (with
--expect-fail: at least one must not, to show the check is not vacuous). Uses
python3-jsonschema when installed, else the small checker below (the schema subset the files
use: type, const, enum, pattern, minimum, minItems, properties, required,
additionalProperties, patternProperties, items).
"""
import json
import re
import sys


def _type_ok(v, t):
    if isinstance(t, list):
        return any(_type_ok(v, x) for x in t)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    return t in kinds and isinstance(v, kinds[t])


def small_check(v, s, path="$"):
    """Errors of @v against schema @s, as a list of strings."""
    errs = []
    if "type" in s and not _type_ok(v, s["type"]):
        return ["%s: %r is not of type %s" % (path, v, s["type"])]
    if "const" in s and (v != s["const"] or type(v) is not type(s["const"])):
        errs.append("%s: %r is not %r" % (path, v, s["const"]))
    if "enum" in s and v not in s["enum"]:
        errs.append("%s: %r is not one of %r" % (path, v, s["enum"]))
    if isinstance(v, str) and "pattern" in s and not re.search(s["pattern"], v):
        errs.append("%s: %r does not match %s" % (path, v, s["pattern"]))
    if _type_ok(v, "number") and "minimum" in s and v < s["minimum"]:
        errs.append("%s: %r below %r" % (path, v, s["minimum"]))
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (path, s["minItems"]))
        if "items" in s:
            for i, x in enumerate(v):
                errs += small_check(x, s["items"], "%s[%d]" % (path, i))
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                errs.append("%s: %r is a required property" % (path, k))
        for k, x in v.items():
            sub = "%s.%s" % (path, k)
            if k in props:
                errs += small_check(x, props[k], sub)
                continue
            pats = [p for p in s.get("patternProperties", {}) if re.search(p, k)]
            for p in pats:
                errs += small_check(x, s["patternProperties"][p], sub)
            if pats:
                continue
            extra = s.get("additionalProperties", True)
            if extra is False:
                errs.append("%s: additional property %r" % (path, k))
            elif isinstance(extra, dict):
                errs += small_check(x, extra, sub)
    return errs


def validator(schema):
    try:
        import jsonschema
    except ImportError:
        return "built-in checker", lambda doc: small_check(doc, schema)
    cls = jsonschema.validators.validator_for(schema)
    v = cls(schema)
    return "jsonschema %s" % cls.__name__, lambda doc: [
        "%s: %s" % ("$" + "".join("[%r]" % p for p in e.absolute_path), e.message)
        for e in v.iter_errors(doc)]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    expect_fail = "--expect-fail" in sys.argv
    builtin = "--builtin" in sys.argv
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sdir, name, path = args
    with open("%s/%s.json" % (sdir, name)) as f:
        schema = json.load(f)
    how, check = ("built-in checker", lambda d: small_check(d, schema)) if builtin else \
        validator(schema)
    with open(path) as f:
        text = f.read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not docs:
        print("FAIL %s: %s holds no JSON" % (name, path))
        return 1
    errs = []
    for d in docs:
        errs += check(d)
    if expect_fail:
        if errs:
            print("ok   %s (%s): a broken document is refused: %s" % (name, how, errs[0]))
            return 0
        print("FAIL %s (%s): a broken document passed" % (name, how))
        return 1
    if errs:
        print("FAIL %s (%s): %s" % (name, how, "; ".join(errs[:5])))
        return 1
    print("ok   %s (%s, %d document%s)" % (name, how, len(docs), "" if len(docs) == 1 else "s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
