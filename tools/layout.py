#!/usr/bin/env python3
"""layout.py -- check the naming and room rules of docs/hacking.md.

Usage: tools/layout.py [OBJDIR [SRCDIR]]   (defaults build/obj and host)

1. Every global symbol a host file defines carries its file's prefix:
   foo.c defines foo_* (or a symbol named foo), a binding also
   luaopen_clawhost_*, and cli/main.c defines main.
2. Only files under host/curl include libcurl's headers or curlfn.h;
   only files under host/store include SQLite's or libpq's.
3. A file includes host headers only from its own room and the rooms
   below it (ROOMS); runtime/init.c, the list of modules, is the one
   file of the runtime that names the modules above it.

Prints each breach and a last line "N breaches"; exits 1 if any.
"""
import os
import re
import subprocess
import sys

# The rooms a room's files may include from, besides their own.
ROOMS = {
    "util": set(),
    "pure": {"util"},
    "store": {"pure", "util"},
    "runtime": {"pure", "util"},
    "curl": {"pure", "util", "runtime"},
    "sandbox": {"pure", "util", "runtime"},
    "lib": {"pure", "util", "runtime", "sandbox", "curl", "store"},
    "cli": {"pure", "util", "runtime", "sandbox", "curl", "store", "lib"},
}
EXCEPTIONS = {"runtime/init.c": {"sandbox", "curl", "lib"}}
HOST_INCLUDE = re.compile(r'#\s*include\s*"([a-z_]+)/[^"]+"')

CURL_INCLUDE = re.compile(r'#\s*include\s*(<curl/[^>]+>|"(curl/)?curlfn\.h")')


def defined(path):
    out = subprocess.run(["nm", "-g", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def name_breaches(objdir, srcdir):
    found = []
    for root, _, names in os.walk(objdir):
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), objdir)[:-2]
            if not name.endswith(".o") or not os.path.exists(
                    os.path.join(srcdir, rel + ".c")):
                continue
            stem = os.path.basename(rel)
            for sym in defined(os.path.join(root, name)):
                if sym == stem or sym.startswith(stem + "_") or \
                        sym.startswith("luaopen_clawhost_") or \
                        (rel == "cli/main" and sym == "main"):
                    continue
                found.append(f"{srcdir}/{rel}.c defines {sym}, which "
                             f"lacks the prefix {stem}_")
    return found


DB_INCLUDE = re.compile(r'#\s*include\s*(<(sqlite3|libpq-fe)\.h>|'
                        r'"(store/)?(sqlitefn|pqfn)\.h")')


def db_breaches(srcdir):
    """SQLite and libpq are the store's business alone."""
    found = []
    for root, _, names in os.walk(srcdir):
        for name in sorted(names):
            path = os.path.join(root, name)
            if not name.endswith((".c", ".h")) or \
                    os.path.relpath(path, srcdir).startswith("store/"):
                continue
            with open(path, encoding="utf-8") as f:
                for no, line in enumerate(f, 1):
                    if DB_INCLUDE.search(line):
                        found.append(f"{path}:{no}: includes a database "
                                     f"library outside {srcdir}/store")
    return found


def curl_breaches(srcdir):
    found = []
    for root, _, names in os.walk(srcdir):
        for name in sorted(names):
            path = os.path.join(root, name)
            if not name.endswith((".c", ".h")) or \
                    os.path.relpath(path, srcdir).startswith("curl/"):
                continue
            with open(path, encoding="utf-8") as f:
                for no, line in enumerate(f, 1):
                    if CURL_INCLUDE.search(line):
                        found.append(f"{path}:{no}: includes libcurl "
                                     f"outside {srcdir}/curl")
    return found


def room_breaches(srcdir):
    found = []
    for room, allowed in sorted(ROOMS.items()):
        for path in sorted((os.path.join(srcdir, room, n) for n in
                            os.listdir(os.path.join(srcdir, room))
                            if n.endswith((".c", ".h")))):
            rel = os.path.relpath(path, srcdir)
            ok = allowed | {room} | EXCEPTIONS.get(rel, set())
            with open(path, encoding="utf-8") as f:
                for no, line in enumerate(f, 1):
                    m = HOST_INCLUDE.search(line)
                    if m and m.group(1) not in ok:
                        found.append(f"{path}:{no}: {room}/ includes from "
                                     f"{m.group(1)}/, which is above it")
    return found


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else "build/obj"
    srcdir = sys.argv[2] if len(sys.argv) > 2 else "host"
    if not os.path.isdir(objdir):
        sys.exit(f"layout: {objdir} not found; run `make` first")
    found = (name_breaches(objdir, srcdir) + curl_breaches(srcdir) +
             db_breaches(srcdir) + room_breaches(srcdir))
    for line in found:
        print(line)
    print(f"{len(found)} breaches")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
