#!/usr/bin/env bash
# Install the Debian packages named as arguments, skipping those already installed.
# Uses apt-get as root, sudo apt-get otherwise; says clearly what to do when neither works.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "error: these Debian packages are needed: ${missing[*]}" >&2
  echo "       run as root, or give this user password-less sudo, or install them yourself:" >&2
  echo "       apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then
  "${apt[@]}" -o DPkg::Lock::Timeout=600 update -qq
fi
install() { "${apt[@]}" -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
# Lists that are recent but lack a package (or point at superseded versions): refresh once and retry.
install || { "${apt[@]}" -o DPkg::Lock::Timeout=600 update -qq && install; }
