#!/usr/bin/env bash
# Tests the Go, Zig and Swift bindings against an installed vecstore.
#
#   bindings/test.sh PREFIX     # PREFIX as given to `cmake --install --prefix`
#
# Installs what is missing (golang-go and pkg-config with apt-get, the Zig
# toolchain from PyPI's `ziglang` package), then runs `go vet` and
# `go test -race ./...` in bindings/go and `zig build test` in bindings/zig.
# The Swift package is tested only when a `swift` toolchain is on PATH.
# Runs every step, then exits non-zero if any failed.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
if ! PREFIX=$(cd "$1" 2>/dev/null && pwd); then
    echo "error: install prefix '$1' does not exist" >&2
    exit 2
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZIG_VERSION=0.17.1 # the bindings/zig sources are written for this Zig release

failed=()
step() { printf '\n==> %s\n' "$*"; }
fail() {
    printf '!!! FAILED: %s\n' "$*"
    failed+=("$*")
}

# need CMD:PKG and need_packages PKG: apt-get installs of what is missing.
# shellcheck source=../scripts/need.sh
. "$HERE/../scripts/need.sh"

step "vecstore install in $PREFIX"
for f in include/vecstore.h lib/pkgconfig/vecstore.pc; do
    if [ ! -f "$PREFIX/$f" ]; then
        echo "error: $PREFIX/$f is missing; run cmake --install first" >&2
        exit 2
    fi
done
ls "$PREFIX"/lib/libvecstore.so* || {
    echo "error: no libvecstore.so in $PREFIX/lib" >&2
    exit 2
}
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# ---------------------------------------------------------------- Go
step "Go: toolchain"
need go:golang-go || fail "apt-get install golang-go"
need pkg-config:pkg-config || fail "apt-get install pkg-config"
if command -v go >/dev/null && command -v pkg-config >/dev/null; then
    go version
    echo "pkg-config vecstore: $(pkg-config --cflags --libs vecstore)"
    step "Go: go vet ./... && go test -race ./... (bindings/go)"
    # Only the standard library is used: no module download, ever.
    if (cd "$HERE/go" && export CGO_ENABLED=1 GOPROXY=off GOTOOLCHAIN=local &&
        go vet ./... && go test -race -count=1 ./...); then
        echo "Go: ok"
    else
        fail "Go tests"
    fi
else
    fail "Go toolchain unavailable"
fi

# ---------------------------------------------------------------- Zig
step "Zig: toolchain (ziglang $ZIG_VERSION from PyPI)"
zig_cmd=()
zig_ok() { [ "$("${zig_cmd[@]}" version 2>/dev/null)" = "$ZIG_VERSION" ]; }
if command -v zig >/dev/null; then
    zig_cmd=(zig)
fi
if [ ${#zig_cmd[@]} -eq 0 ] || ! zig_ok; then
    zig_cmd=(python3 -m ziglang)
fi
if ! zig_ok; then
    # A private --target directory: no root needed, and not refused by
    # "externally managed" system Pythons (PEP 668).
    ZIG_PKG_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/vecstore-bindings/ziglang-$ZIG_VERSION"
    export PYTHONPATH="$ZIG_PKG_DIR${PYTHONPATH:+:$PYTHONPATH}"
    if ! zig_ok; then
        if ! python3 -m pip --version >/dev/null 2>&1; then
            need_packages python3-pip || fail "apt-get install python3-pip"
        fi
        python3 -m pip install --quiet --disable-pip-version-check --target "$ZIG_PKG_DIR" \
            "ziglang==$ZIG_VERSION" || fail "pip install ziglang==$ZIG_VERSION"
    fi
fi
if zig_ok; then
    echo "zig $("${zig_cmd[@]}" version) (${zig_cmd[*]})"
    step "Zig: zig build test (bindings/zig)"
    if (cd "$HERE/zig" && "${zig_cmd[@]}" build test -Dprefix="$PREFIX" --summary all); then
        echo "Zig: ok"
    else
        fail "Zig tests"
    fi
else
    fail "Zig $ZIG_VERSION unavailable"
fi

# ---------------------------------------------------------------- Swift
step "Swift: swift test (bindings/swift)"
if command -v swift >/dev/null; then
    if (cd "$HERE/swift" && swift test); then
        echo "Swift: ok"
    else
        fail "Swift tests"
    fi
else
    echo "skipped: no Swift toolchain on PATH (none is installable from Debian's archive)"
fi

echo
if [ ${#failed[@]} -ne 0 ]; then
    printf '==> bindings: %d step(s) failed:\n' "${#failed[@]}"
    printf '    - %s\n' "${failed[@]}"
    exit 1
fi
echo "==> bindings: all passed"
