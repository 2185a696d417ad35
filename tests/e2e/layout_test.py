"""The shape of the host's code, as docs/hacking.md states it: no call
cycle larger than three files, every exported name carrying its file's
prefix, includes only from a file's own room and the rooms below it,
libcurl seen only in host/curl, and host/pure and host/util compiled
without the Lua or curl headers (the compiler refuses them).
"""
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
OBJ = ROOT / "build" / "obj"


def tool(name):
    return subprocess.run([str(ROOT / "tools" / name), str(OBJ),
                           str(ROOT / "host")], capture_output=True,
                          text=True, cwd=ROOT)


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (OBJ / "cli" / "main.o").exists():
        pytest.fail("build/obj is empty: run `make` first")


def test_no_call_cycle_over_three_files():
    r = tool("cycles.py")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^largest cycle: (\d+) files$", r.stdout, re.M)
    assert m, r.stdout
    assert int(m.group(1)) <= 3, r.stdout


def test_cycles_tool_sees_a_cycle(tmp_path):
    """The measurement can fail: two objects that call each other."""
    (tmp_path / "src" / "x").mkdir(parents=True)
    (tmp_path / "obj" / "x").mkdir(parents=True)
    for a, b in (("a", "b"), ("b", "a")):
        c = tmp_path / "src" / "x" / f"{a}.c"
        c.write_text(f"void {b}_f(void);\nvoid {a}_f(void);\n"
                     f"void {a}_f(void) {{ {b}_f(); }}\n")
        subprocess.run(["cc", "-c", "-o", str(tmp_path / "obj" / "x" /
                                               f"{a}.o"), str(c)],
                       check=True)
    r = subprocess.run([str(ROOT / "tools" / "cycles.py"),
                        str(tmp_path / "obj"), str(tmp_path / "src")],
                       capture_output=True, text=True)
    assert "largest cycle: 2 files" in r.stdout, r.stdout
    assert "x/a -> x/b: b_f" in r.stdout


def test_names_rooms_and_curl_follow_the_rules():
    r = tool("layout.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("0 breaches")


def pure_sources():
    return sorted(str(p.relative_to(ROOT)) for d in ("pure", "util")
                  for p in (ROOT / "host" / d).glob("*.c"))


@pytest.mark.parametrize("src", pure_sources())
def test_pure_compiles_without_lua_or_curl(src):
    r = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-fsyntax-only",
                        "-Imk/forbid", "-Ihost", src], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("header", ["lua.h", "lauxlib.h", "curl/curl.h"])
def test_forbid_headers_stop_the_build(tmp_path, header):
    probe = tmp_path / "probe.c"
    probe.write_text(f"#include <{header}>\nint x;\n")
    r = subprocess.run(["cc", "-fsyntax-only", "-Imk/forbid", "-Ihost",
                        str(probe)], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "may not include" in r.stderr


def test_makefile_compiles_pure_with_the_forbid_path():
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^INC_PURE\s*:=\s*-Imk/forbid -Ihost$", mk, re.M)
    assert re.search(r"^PURE_DIRS := pure util$", mk, re.M)


def test_layout_tool_sees_each_kind_of_breach(tmp_path):
    """The checks can fail: a pure file that includes lib/, a lib file
    that includes curl.h, a symbol without its file's prefix."""
    src, obj = tmp_path / "src", tmp_path / "obj"
    for room in ("util", "pure", "store", "runtime", "curl", "sandbox",
                 "lib", "cli"):
        (src / room).mkdir(parents=True)
    (obj / "pure").mkdir(parents=True)
    (src / "pure" / "x.c").write_text('#include "lib/y.h"\n'
                                      'int other_name(void);\n'
                                      'int other_name(void) { return 1; }\n')
    (src / "lib" / "y.c").write_text('#include <curl/curl.h>\n')
    subprocess.run(["cc", "-c", "-o", str(obj / "pure" / "x.o"), "-x", "c",
                    "-"], input="int other_name(void) { return 1; }\n",
                   text=True, check=True)
    r = subprocess.run([str(ROOT / "tools" / "layout.py"), str(obj),
                        str(src)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "pure/x.c defines other_name, which lacks the prefix x_" \
        in r.stdout
    assert "pure/x.c:1: pure/ includes from lib/" in r.stdout
    assert "lib/y.c:1: includes libcurl outside" in r.stdout
    assert r.stdout.strip().endswith("3 breaches")
