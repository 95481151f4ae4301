"""The ctypes declarations against the header the package carries: every
function, parameter, enum value and struct field, and the C compiler's
struct layouts. A change to include/vecstore.h that the binding does not
follow fails here."""

import ctypes
import os
import re
import subprocess

import pytest

import vecstore
from vecstore import _ffi

from conftest import compile_c


@pytest.fixture(scope="module")
def header():
    with open(os.path.join(vecstore.include_dir(), "vecstore.h")) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def declarations(header):
    """name -> (result type, [parameter types]) of every function."""
    out = {}
    for m in re.finditer(r"\n([A-Za-z_][\w \*]*?)\s*\b(vecstore_\w+)\(([^;{]*?)\);", header):
        ret, name, params = m.group(1).strip(), m.group(2), " ".join(m.group(3).split())
        types = []
        if params != "void":
            for p in params.split(","):
                p = p.strip()
                pm = re.match(r"(.*?)\s*\b(\w+)$", p)
                types.append(pm.group(1).strip())
        out[name] = (ret, types)
    return out


SCALARS = {
    "uint64_t": ctypes.c_uint64,
    "uint32_t": ctypes.c_uint32,
    "size_t": ctypes.c_size_t,
    "bool": ctypes.c_bool,
    "vecstore_metric": ctypes.c_int,
    "vecstore_durability": ctypes.c_int,
    "vecstore_status": ctypes.c_int,
    "enum vecstore_status": ctypes.c_int,
    "struct vecstore_options": _ffi.Options,
}


def check_type(c_type, py_type, where):
    if c_type == "void":
        assert py_type is None, where
    elif c_type == "vecstore_filter_fn":
        assert py_type is _ffi.FILTER, where
    elif "*" in c_type:
        assert py_type in (ctypes.c_void_p, ctypes.c_char_p) or issubclass(py_type, ctypes._Pointer), where
        if py_type is ctypes.c_char_p:
            assert c_type.replace(" ", "") == "constchar*", where
    else:
        assert py_type is SCALARS[c_type], f"{where}: {c_type} declared as {py_type}"


def test_every_function_is_declared_with_its_types(header):
    decls = declarations(header)
    assert len(decls) >= 30
    assert set(decls) == set(_ffi.FUNCTIONS), set(decls) ^ set(_ffi.FUNCTIONS)
    for name, (ret, params) in decls.items():
        py_ret, py_params = _ffi.FUNCTIONS[name]
        check_type(ret, py_ret, f"{name} result")
        assert len(params) == len(py_params), name
        for i, (c, p) in enumerate(zip(params, py_params)):
            check_type(c, p, f"{name} parameter {i}")


def test_enum_values(header):
    values = {m.group(1): int(m.group(2)) for m in re.finditer(r"\bVECSTORE_(\w+) = (\d+)", header)}
    assert len(values) == 11 + 3 + 3
    for name, value in values.items():
        assert getattr(_ffi, name) == value, name
    statuses = {v for k, v in values.items() if not k.startswith(("DURABILITY_", "METRIC_"))} - {0}
    assert statuses == set(vecstore._errors.BY_STATUS)


def test_version_number(header):
    m = re.search(r"#define VECSTORE_VERSION_NUMBER (\d+)", header)
    assert int(m.group(1)) == _ffi.VERSION_NUMBER
    assert vecstore._ffi.lib.vecstore_version_number() // 1000 == _ffi.VERSION_NUMBER // 1000


@pytest.mark.parametrize("struct,cls", [("vecstore_options", _ffi.Options), ("vecstore_stats", _ffi.Stats)])
def test_struct_fields_and_layout(header, struct, cls, cc, tmp_path):
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (struct, struct), header, re.S).group(1)
    fields = re.findall(r"(\w+);", body)
    assert fields == [name for name, _ in cls._fields_]
    lines = [f'printf("sizeof %zu\\n", sizeof(struct {struct}));']
    for f in fields:
        lines.append(f'printf("{f} %zu %zu\\n", offsetof(struct {struct}, {f}), sizeof(((struct {struct} *)0)->{f}));')
    src = "#include <stddef.h>\n#include <stdio.h>\n#include <vecstore.h>\nint main(void) {\n%s\nreturn 0;\n}\n" % "\n".join(lines)
    exe = compile_c(cc, src, str(tmp_path))
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split("\n")
    assert out[0] == f"sizeof {ctypes.sizeof(cls)}"
    for line, f in zip(out[1:], fields):
        fld = getattr(cls, f)
        assert line == f"{f} {fld.offset} {fld.size}"


def test_options_default_matches_the_header():
    o = _ffi.lib.vecstore_options_default()
    assert o.size == ctypes.sizeof(_ffi.Options)
    assert (o.durability, o.read_only, o.create_if_missing, o.initial_capacity) == (0, False, True, 0)
