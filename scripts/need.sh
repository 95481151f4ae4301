# shellcheck shell=bash
# Installs missing tools from Debian's packages. Sourced by the scripts that
# need something the machine may lack:
#
#   . scripts/need.sh
#   need cmake:cmake aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu,libc6-dev-arm64-cross
#
# need CMD:PKG[,PKG...]...  installs the packages of every CMD that is not on
#                           PATH, with one apt-get update and one apt-get install.
# need_packages PKG...      installs PKG... unconditionally (the same way).
# Both return apt-get's status, so a caller under `set -e` stops on failure.

need_packages() {
  local sudo=""
  [ $# -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  printf '==> installing %s\n' "$*" >&2
  $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

need() {
  local pair pkgs=() more=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 && continue
    IFS=, read -r -a more <<<"${pair#*:}"
    pkgs+=("${more[@]}")
  done
  need_packages "${pkgs[@]}"
}
