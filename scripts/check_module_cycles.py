#!/usr/bin/env python3
"""Fails when modules of a workspace crate import each other in a circle.

Cargo already forbids circles between crates; inside a crate nothing does. This reads every
`.rs` file under `crates/*/src`, maps it to its module path (`lib.rs` is the root, `a/mod.rs` and
`a.rs` are `a`, `a/b.rs` is `a::b`), and collects the paths it names (`crate::x::y`,
`super::x`, `self::x`, in `use` items and in expressions alike). Each reference between two
modules of which neither contains the other becomes an edge between their ancestors that are
siblings (children of the same parent), and any strongly connected set of siblings is a circle.
A parent using its child, or a child its parent (`super::`), is not a circle: that is how a
module owns its parts.

Usage: scripts/check_module_cycles.py [crates-dir]   (exit status 1 and the circles when any)
"""

import os
import re
import sys
from collections import defaultdict

PATH_RE = re.compile(r"\b(crate|super|self)((?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super|self)\s*::\s*([^;]*?)\{([^;]*)\}\s*;", re.S)
RAW_STRING_START_RE = re.compile(r'b?r(#*)"')
CHAR_RE = re.compile(r"'(?:\\.[^']*|[^'\\])'", re.S)


def module_of(src_dir, path):
    rel = os.path.relpath(path, src_dir)[: -len(".rs")].split(os.sep)
    if rel == ["lib"] or rel == ["main"]:
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def strip(text):
    """The code of a Rust file with comments replaced by a space and string and character
    literals emptied, in one pass from the start, so that `//` or `"` inside a literal, a
    string continued across lines with `\\`, raw strings and nested block comments cannot
    hide code or make text look like code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            out.append(" ")
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif (c in "rb") and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) and (
            m := RAW_STRING_START_RE.match(text, i)
        ):
            end = text.find('"' + m.group(1), m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and (m := CHAR_RE.match(text, i)):
            # A character literal ('a', '\\n', '"'); otherwise a lifetime or label ('a).
            i = m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def references(text):
    """Yields (anchor, [segments]) for each path in the text, expanding `use a::{b, c::d}`."""
    for m in USE_GROUP_RE.finditer(text):
        prefix = [s for s in re.split(r"\s*::\s*", m.group(2).strip()) if s]
        for item in m.group(3).split(","):
            item = item.strip().split(" as ")[0].strip()
            if not item or item.startswith("{"):
                continue
            yield m.group(1), prefix + [s for s in re.split(r"\s*::\s*", item) if s]
    for m in PATH_RE.finditer(text):
        yield m.group(1), [s for s in re.split(r"\s*::\s*", m.group(2)) if s]


def resolve(module, anchor, segments, modules):
    """The longest known module that the path names, or None."""
    if anchor == "crate":
        base = ()
    elif anchor == "self":
        base = module
    else:
        base = module
        while segments and segments[0] == "super":
            segments = segments[1:]
        base = module[:-1] if module else ()
        # `super::super::x`: count every super.
    best = None
    cur = base
    if cur in modules:
        best = cur
    for seg in segments:
        cur = cur + (seg,)
        if cur in modules:
            best = cur
        else:
            break
    return best


def resolve_supers(module, anchor, segments):
    if anchor != "super":
        return anchor, segments
    depth = 1
    while segments and segments[0] == "super":
        depth += 1
        segments = segments[1:]
    return ("crate", list(module[: max(len(module) - depth, 0)]) + segments)


def sccs(nodes, edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def check_crate(src_dir):
    files = {}
    for root, _, names in os.walk(src_dir):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_of(src_dir, path)] = path
    modules = set(files)
    # Inline `mod x { ... }` blocks are part of their file's module here: good enough for
    # circles between files, which is what a reader navigates.
    edges = defaultdict(set)
    witness = {}
    for module, path in files.items():
        with open(path, encoding="utf-8") as f:
            text = strip(f.read())
        for anchor, segments in references(text):
            anchor, segments = resolve_supers(module, anchor, list(segments))
            target = resolve(module, anchor, segments, modules)
            if target is None or target == module:
                continue
            n = 0
            while n < min(len(module), len(target)) and module[n] == target[n]:
                n += 1
            if n == len(module) or n == len(target):
                continue  # one contains the other
            a, b = module[: n + 1], target[: n + 1]
            edges[a].add(b)
            witness.setdefault((a, b), (path, "::".join([anchor] + segments)))
    circles = []
    nodes = sorted({m[: i + 1] for m in modules for i in range(len(m))})
    for comp in sccs(nodes, edges):
        if len(comp) > 1:
            circles.append(sorted(comp))
    return circles, edges, witness


def main():
    crates_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "crates")
    failed = False
    for crate in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, crate, "src")
        if not os.path.isdir(src):
            continue
        circles, edges, witness = check_crate(src)
        for comp in circles:
            failed = True
            names = ["::".join(m) for m in comp]
            print(f"crates/{crate}: import circle between {', '.join(names)}")
            members = set(comp)
            for a in comp:
                for b in sorted(edges[a]):
                    if b in members:
                        path, ref = witness[(a, b)]
                        print(f"    {'::'.join(a)} -> {'::'.join(b)}  ({os.path.relpath(path)}: {ref})")
    if failed:
        sys.exit(1)
    print("no import circles between modules in", os.path.relpath(crates_dir))


if __name__ == "__main__":
    main()
