#!/usr/bin/env python3
"""readme_snippets.py README HEADING: the snippets of one README section, for tests that run them
instead of keeping copies (vm-rootless runs those of "Rootless").

The section runs from the heading line "## ... HEADING" (any level) to the next heading of the same
or a higher level. Printed NUL-terminated, in order of appearance:
  sh TEXT    each fenced ```sh block (backslash-newline continuations kept: sh reads them)
  opt TEXT   each inline code span made of options whose values are rules, such as
             "--uid-map=:0:1:2:" (a line break inside a span becomes a space)
Exit status 1 when the heading is missing."""
import re
import sys


def section(text, heading):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+)\s+(.*?)\s*$", line)
        if m and m.group(2) == heading:
            level = len(m.group(1))
            body = []
            fenced = False
            for line2 in lines[i + 1:]:
                if line2.startswith("```"):
                    fenced = not fenced
                m2 = re.match(r"^(#+)\s", line2)
                if not fenced and m2 and len(m2.group(1)) <= level:
                    break
                body.append(line2)
            return "\n".join(body)
    return None


def snippets(body):
    out = []
    # Fenced blocks first cut out of the prose, so their backticks are not read as spans.
    prose = []
    pos = 0
    for m in re.finditer(r"^```(\w*)\n(.*?)^```\s*$", body, re.M | re.S):
        prose.append((m.start(), body[pos:m.start()]))
        if m.group(1) == "sh":
            out.append((m.start(), "sh", m.group(2).rstrip("\n")))
        pos = m.end()
    prose.append((pos, body[pos:]))
    for start, chunk in prose:
        for m in re.finditer(r"`([^`]+)`", chunk):
            span = " ".join(m.group(1).split())
            # "--name=value" words only, each value a rule (with a colon), no "...".
            if re.fullmatch(r"--[a-z-]+=\S*:\S*( --[a-z-]+=\S*:\S*)*", span) and "..." not in span:
                out.append((start + m.start(), "opt", span))
    return [(kind, text) for _, kind, text in sorted(out)]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: readme_snippets.py README HEADING")
    with open(sys.argv[1], encoding="utf-8") as f:
        body = section(f.read(), sys.argv[2])
    if body is None:
        sys.exit(f"readme_snippets.py: no heading '{sys.argv[2]}' in {sys.argv[1]}")
    for kind, text in snippets(body):
        sys.stdout.write(f"{kind} {text}\0")


if __name__ == "__main__":
    main()
