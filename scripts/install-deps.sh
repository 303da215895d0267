#!/usr/bin/env bash
# Installs the Debian packages josgdb's build, demo and tests need, only those missing.
# gdb and lldb are the debuggers under test; clang, lld and llvm build and inspect the
# UEFI stub (PE + PDB); qemu-system-x86 and ovmf boot it.
set -euo pipefail
packages=(gdb lldb python3-lldb-14 clang lld llvm qemu-system-x86 ovmf mtools make python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to apt-get install ${missing[*]} (run as root or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
