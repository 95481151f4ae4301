"""Builds the vecstore wheel: cargo builds libvecstore.so from the crate two
directories up, and the build copies it (and include/vecstore.h) into the
package, so the wheel carries its own library.

Cargo's output goes to build/cargo-target here (or to $CARGO_TARGET_DIR when
set); nothing is written in the repository outside bindings/python (the
crate's build script writes only under cargo's target directory, and --locked
keeps Cargo.lock as committed).

The wheel is tagged py3-none-<platform>: the package is pure Python over a C
library, so one wheel serves every CPython 3.9+ of that platform.
"""

import os
import re
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MANIFEST = os.path.join(ROOT, "Cargo.toml")
HEADER = os.path.join(ROOT, "include", "vecstore.h")


def crate_version():
    with open(MANIFEST, encoding="utf-8") as f:
        text = f.read()
    package = text.split("[package]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^version\s*=\s*"([^"]+)"', package, re.M).group(1)


def build_library():
    """cargo build --release of the root crate's cdylib; returns its path."""
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "build", "cargo-target")
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    cmd = ["cargo", "build", "--release", "--locked", "--manifest-path", MANIFEST, "-p", "vecstore", "--lib"]
    print("vecstore: " + " ".join(cmd) + f"  (CARGO_TARGET_DIR={target})", file=sys.stderr)
    try:
        subprocess.run(cmd, check=True, env=env, cwd=HERE)
    except FileNotFoundError:
        sys.exit("vecstore: cargo is not on PATH; building the wheel needs the Rust toolchain")
    lib = os.path.join(target, "release", "libvecstore.so")
    if not os.path.exists(lib):
        sys.exit(f"vecstore: cargo finished but {lib} is missing")
    return lib


class BuildPyWithCargo(build_py):
    def run(self):
        super().run()
        if not os.path.exists(MANIFEST):
            sys.exit(f"vecstore: {MANIFEST} not found; build from a checkout of the vecstore repository")
        dest = os.path.join(self.build_lib, "vecstore")
        os.makedirs(os.path.join(dest, "include"), exist_ok=True)
        shutil.copyfile(build_library(), os.path.join(dest, "libvecstore.so"))
        shutil.copyfile(HEADER, os.path.join(dest, "include", "vecstore.h"))


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False  # it carries a shared library

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    version=crate_version(),
    cmdclass={"build_py": BuildPyWithCargo, "bdist_wheel": PlatformWheel},
)
