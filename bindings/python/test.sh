#!/usr/bin/env bash
# Builds and installs the vecstore Python package the way a user does
# (`pip install ./bindings/python`, which runs cargo), into a venv under the
# repository's build/ directory, then runs the package's tests against that
# install, never against the source tree.
#
#   bindings/python/test.sh            # from anywhere in the repository
#
# Needs: python3 (3.9+) with venv and pip, the Rust toolchain, gcc. Installs
# python3-venv with apt-get if the venv module is missing, and numpy and
# pytest (and, in pip's isolated build environment, setuptools and wheel)
# from PyPI.
#
# VECSTORE_REAL_EMBEDDINGS=1 also runs the real-embeddings check (installs
# bench/requirements.txt, several GB with torch, and Debian's wamerican and
# wordnet-base); CI leaves it off.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/build/python-venv"
step() { printf '\n==> [%d s] %s\n' "$SECONDS" "$*"; }
# shellcheck source=../../scripts/need.sh
. "$root/scripts/need.sh"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step "venv $venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" 2>/dev/null || { need_packages python3-venv && rm -rf "$venv" && python3 -m venv "$venv"; }
fi
"$venv/bin/python" --version
"$venv/bin/pip" install -q numpy pytest

# What the build may change in the checkout: only ignored files under bindings/python.
before=$(cd "$root" && git status --porcelain --untracked-files=all 2>/dev/null || true)

step "pip install ./bindings/python (cargo build --release inside)"
(cd "$root" && "$venv/bin/pip" install --no-deps --force-reinstall ./bindings/python)

after=$(cd "$root" && git status --porcelain --untracked-files=all 2>/dev/null || true)
if [ "$before" != "$after" ]; then
    echo "error: the build changed the checkout:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
fi

if [ "${VECSTORE_REAL_EMBEDDINGS:-0}" = 1 ]; then
    step "real-embeddings dependencies (bench/requirements.txt, wamerican, wordnet-base)"
    [ -f /usr/share/dict/words ] && [ -f /usr/share/wordnet/data.noun ] || need_packages wamerican wordnet-base
    "$venv/bin/pip" install -q -r "$root/bench/requirements.txt"
fi

step "pytest against the installed package"
# From the tests' own directory: the source package (src/) is not on sys.path.
cd "$here/tests"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -v -rs "$here/tests"
