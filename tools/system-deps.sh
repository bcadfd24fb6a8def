#!/usr/bin/env bash
# Install the Debian packages the tests need when the machine lacks them; `make test` runs this
# before pytest.
#
#   tools/system-deps.sh [COMMAND:PACKAGE ...]
#
# Each argument names a command (or an absolute path) that must be runnable and the Debian package
# that provides it. Without arguments, the project's list:
#   /usr/bin/chromium:chromium   the end-to-end tests open the built book in Debian's Chromium,
#                                driven by pip's playwright (`playwright install` cannot download
#                                browsers here); see tests/e2e.py
#   g++:g++ ninja:ninja-build    torch compiles wgan_lib's C++ kernels with them (without them the
#                                package falls back to slower torch code, and a test fails to say so)
#
# Nothing missing: exits 0 without touching apt. Something missing: installs it with apt-get when
# this user may (root, or passwordless sudo); otherwise prints one line naming the packages and
# the command that installs them, and exits 1.
set -euo pipefail

if (( $# == 0 )); then
    set -- /usr/bin/chromium:chromium g++:g++ ninja:ninja-build
fi

missing=()
for need in "$@"; do
    if [[ $need != ?*:?* ]]; then
        echo "system-deps.sh: '$need' is not COMMAND:PACKAGE (e.g. ninja:ninja-build)" >&2
        exit 2
    fi
    command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need#*:}")
done
(( ${#missing[@]} )) || exit 0

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "The tests need the Debian package(s) ${missing[*]}, not installed; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need ${missing[*]} (Debian package names), not installed, and there is no apt-get here: install them with this system's package manager" >&2
    exit 1
fi

echo "system-deps.sh: installing ${missing[*]} with apt-get"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
for need in "$@"; do
    if ! command -v "${need%%:*}" >/dev/null 2>&1; then
        echo "system-deps.sh: apt-get installed ${need#*:} but ${need%%:*} is still not found" >&2
        exit 1
    fi
done
