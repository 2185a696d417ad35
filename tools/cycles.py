#!/usr/bin/env python3
"""cycles.py -- the call cycles among the host's C files.

Usage: tools/cycles.py [OBJDIR [SRCDIR]]
       (defaults build/obj and host; run `make` first)

Reads the symbol tables of the host's object files with `nm` (binutils):
file A depends on file B when A uses a symbol that B defines. Files that
depend on each other, directly or around a loop, form a cycle (a strongly
connected component). Prints every cycle of two or more files, largest
first, with the symbols that tie it, and a last line that a script can
read: "largest cycle: N files".

Why object files and not includes: a header can be included for a type
alone; a symbol that one file calls and another defines is a real tie.
"""
import os
import subprocess
import sys


def symbols(path):
    """(defined, undefined) global symbol names of one object file."""
    out = subprocess.run(["nm", "-g", path], check=True,
                         capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRCGSVW":
            defined.add(parts[2])
    return defined, undefined


def graph(objdir, srcdir):
    """Only objects whose source is still in srcdir: a stale object of a
    moved or deleted file is not part of the host."""
    files = {}
    for root, _, names in os.walk(objdir):
        for name in names:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, objdir)[:-2]
            if name.endswith(".o") and os.path.exists(
                    os.path.join(srcdir, rel + ".c")):
                files[rel] = symbols(path)
    owner = {}
    for f, (defined, _) in files.items():
        for s in defined:
            owner[s] = f
    edges = {f: {} for f in files}
    for f, (_, undefined) in files.items():
        for s in undefined:
            g = owner.get(s)
            if g and g != f:
                edges[f].setdefault(g, []).append(s)
    return edges


def components(edges):
    """Tarjan's strongly connected components, iterative."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        comp.append(x)
                        if x == v:
                            break
                    out.append(sorted(comp))
                continue
            if w not in index:
                index[w] = low[w] = counter[0]
                counter[0] += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(edges[w]))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return out


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else "build/obj"
    srcdir = sys.argv[2] if len(sys.argv) > 2 else "host"
    if not os.path.isdir(objdir):
        sys.exit(f"cycles: {objdir} not found; run `make` first")
    edges = graph(objdir, srcdir)
    comps = sorted((c for c in components(edges) if len(c) > 1),
                   key=lambda c: (-len(c), c))
    for i, comp in enumerate(comps, 1):
        print(f"cycle {i}: {len(comp)} files: {', '.join(comp)}")
        members = set(comp)
        for f in comp:
            for g in sorted(edges[f]):
                if g in members:
                    names = ", ".join(sorted(edges[f][g])[:4])
                    more = len(edges[f][g]) - 4
                    extra = f" (+{more} more)" if more > 0 else ""
                    print(f"  {f} -> {g}: {names}{extra}")
    print(f"{len(edges)} files, {len(comps)} cycles")
    print(f"largest cycle: {max((len(c) for c in comps), default=0)} files")


if __name__ == "__main__":
    main()
