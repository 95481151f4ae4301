"""The installed package: its layout, version and library."""

import os

import vecstore


def test_runs_against_the_installed_package_not_the_source_tree():
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.normpath(os.path.join(here, "..", "src"))
    pkg = os.path.dirname(os.path.abspath(vecstore.__file__))
    if os.environ.get("VECSTORE_TEST_SOURCE_TREE") != "1":
        assert not pkg.startswith(src), f"vecstore imported from the source tree ({pkg}); install it first"


def test_the_package_carries_its_library_and_header():
    pkg = os.path.dirname(os.path.abspath(vecstore.__file__))
    assert vecstore.library_path() == os.path.join(pkg, "libvecstore.so")
    assert os.path.isfile(vecstore.library_path())
    assert os.path.isfile(os.path.join(vecstore.include_dir(), "vecstore.h"))
    assert os.path.isfile(os.path.join(pkg, "py.typed"))
    # and it loads that very file, not a system one
    with open("/proc/self/maps") as f:
        maps = f.read()
    assert os.path.realpath(vecstore.library_path()) in maps


def test_versions():
    assert vecstore.__version__ == vecstore.library_version()
    major, minor, _ = (int(x) for x in vecstore.library_version().split("."))
    assert (major, minor) == (vecstore._ffi.VERSION_MAJOR, vecstore._ffi.VERSION_MINOR)


def test_public_names():
    for name in vecstore.__all__:
        assert hasattr(vecstore, name), name
    for name in ("open", "Store", "Error", "NotFound", "InvalidArgument", "DimensionMismatch",
                 "Corrupt", "Locked", "ReadOnly", "NoSpace", "VersionMismatch"):
        assert name in vecstore.__all__
