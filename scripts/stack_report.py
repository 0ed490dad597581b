#!/usr/bin/env python3
"""Worst-case stack depth from GCC's call graph (-fcallgraph-info=su, one .ci per object).

Each node carries its frame size (the same number as its .su line); the depth of a
function is its frame plus the deepest of its callees. Calls through function pointers
are resolved with INDIRECT below (one line of reason each); a function pointer nobody
listed there, or recursion, makes the report fail rather than guess. Library functions
(newlib, libgcc) have no .su: each gets LIBRARY_FRAME bytes, stated in the output.

Usage: stack_report.py DIR ROOT... (prints the worst path of each root).
"""
import glob
import os
import re
import sys

# newlib's memcpy/memset/strlen/strcmp... and libgcc's 64-bit division are leaf routines
# written to need a handful of registers pushed; 64 bytes covers them with room to spare.
LIBRARY_FRAME = 64

# Where each indirect call can go, by the source file of the caller.
INDIRECT = {
    # The emulator calls its backend (the example board's driver is the only one linked)
    # and the trace hook (never set on a device; counted as a backend call, which is more).
    "src/flash/flash_emul.c": ["nor_read", "nor_write", "nor_erase", "nor_map"],
    # hash_update/hash_pad call the block function they are given: SHA-256's or MD5's.
    "src/port/crypto_tiny.c": ["sha256_compress", "md5_compress"],
    # The log port calls the sink the board set (the example sets none).
    "ports/cortex-m4/log_port.c": [],
}

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?(?:\\n(\d+) bytes \(([a-z, ]+)\))?"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


GRAPH = re.compile(r'graph: \{ title: "([^"]+)"')


def load(directory):
    frames, edges, files = {}, {}, {}
    for path in sorted(glob.glob(os.path.join(directory, "*.ci"))):
        text = open(path, encoding="utf-8").read()
        source = GRAPH.search(text).group(1)
        for title, size, kind in NODE.findall(text):
            if size:
                if "dynamic" in kind:
                    raise SystemExit(f"stack: {title} has a dynamic frame ({kind})")
                frames[title] = int(size)
                files[title] = source
        for src, dst in EDGE.findall(text):
            edges.setdefault(src, set()).add(dst)
    return frames, edges, files


def resolve(name, frames):
    """A callee as named in an edge, to a node with a frame (static functions are titled
    file:function; calls name them either way)."""
    if name in frames:
        return name
    matches = [t for t in frames if t.endswith(":" + name)]
    return matches[0] if len(matches) == 1 else None


def callees(caller, edges, frames, files):
    out = []
    for dst in sorted(edges.get(caller, ())):
        if dst == "__indirect_call":
            targets = INDIRECT.get(files.get(caller))
            if targets is None:
                raise SystemExit(f"stack: {caller} calls through a pointer not listed in INDIRECT")
            out.extend(t for t in (resolve(x, frames) for x in targets) if t)
        else:
            out.append(dst)
    return out


def worst(root, frames, edges, files):
    memo = {}

    def depth(fn, active):
        if fn in active:
            raise SystemExit(f"stack: recursion through {fn}: no bound")
        if fn in memo:
            return memo[fn]
        node = resolve(fn, frames)
        if node is None:  # a library routine
            memo[fn] = (LIBRARY_FRAME, [(fn + " (library)", LIBRARY_FRAME)])
            return memo[fn]
        best = (0, [])
        for callee in callees(node, edges, frames, files):
            best = max(best, depth(callee, active | {fn}), key=lambda d: d[0])
        result = (frames[node] + best[0], [(node, frames[node])] + best[1])
        memo[fn] = result
        return result

    return depth(root, frozenset())


def main():
    directory, roots = sys.argv[1], sys.argv[2:]
    frames, edges, files = load(directory)
    for root in roots:
        total, path = worst(root, frames, edges, files)
        print(f"{root}: {total} bytes")
        for name, size in path:
            print(f"    {size:5d}  {name}")


if __name__ == "__main__":
    main()
