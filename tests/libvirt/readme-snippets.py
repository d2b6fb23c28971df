#!/usr/bin/env python3
"""Extract the libvirt domain XML snippets README.md shows, for tests/libvirt/run-libvirt.sh.

    readme-snippets.py README.md SHARE_DIR OUTDIR

Reads every ```xml block of README.md's "### With libvirt" section. A block is a domain
fragment with "..." lines where the rest of the domain goes: its top-level elements are domain
children (memoryBacking, ...), except <devices>, whose children are devices. The README's
example directory (each <source dir>) is replaced by SHARE_DIR; nothing else is changed, so
the snippet is tested as a reader would paste it. Writes OUTDIR/top.xml (domain children),
OUTDIR/devices.xml (devices) and OUTDIR/tags (the <target dir> of every virtiofs filesystem,
comma separated). Exits 1 when the section, a block or the shared-memory/virtiofs parts a
libvirt user needs are missing, or a block is not well-formed XML.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm"))
from readme_snippets import section  # noqa: E402 (tests/vm's README section reader)


def fail(msg):
    print(f"readme-snippets: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    readme, share, out = sys.argv[1:4]
    text = open(readme, encoding="utf-8").read()
    body = section(text, "With libvirt")
    if body is None:
        fail("no '### With libvirt' section in README.md")
    blocks = re.findall(r"^```xml\n(.*?)^```", body, re.M | re.S)
    if not blocks:
        fail("no ```xml block in the libvirt section")
    top, devices, tags = [], [], []
    for b in blocks:
        body = "\n".join(l for l in b.splitlines() if l.strip() != "...")
        try:
            root = ET.fromstring(f"<fragment>{body}</fragment>")
        except ET.ParseError as e:
            fail(f"an xml block is not well-formed: {e}")
        for el in root:
            if el.tag == "devices":
                devices.extend(el)
            else:
                top.append(el)
    fss = [d for d in devices if d.tag == "filesystem"]
    vfs = [f for f in fss if f.find("driver") is not None and f.find("driver").get("type") == "virtiofs"]
    if not vfs:
        fail("no <filesystem> with <driver type='virtiofs'/> in the snippets")
    mb = [t for t in top if t.tag == "memoryBacking"]
    if not mb or mb[0].find("access") is None or mb[0].find("access").get("mode") != "shared":
        fail("no <memoryBacking> with <access mode='shared'/> in the snippets")
    for f in vfs:
        src = f.find("source")
        if src is None or not src.get("dir"):
            fail("a virtiofs filesystem has no <source dir>")
        src.set("dir", share)
        tags.append(f.find("target").get("dir"))
    with open(f"{out}/top.xml", "w") as fh:
        fh.write("\n".join(ET.tostring(e, encoding="unicode").strip() for e in top) + "\n")
    with open(f"{out}/devices.xml", "w") as fh:
        fh.write("\n".join(ET.tostring(e, encoding="unicode").strip() for e in devices) + "\n")
    with open(f"{out}/tags", "w") as fh:
        fh.write(",".join(tags) + "\n")


if __name__ == "__main__":
    main()
