#!/usr/bin/env bash
# install-deps.sh - install every Debian 12 package attnsweep needs (idempotent).
# Fast when everything is already present: it asks dpkg first and runs apt only
# for what is missing. Needs root (or sudo) only when something must be installed.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libopenblas-dev
  libyaml-dev
  libjansson-dev
  libssl-dev
  python3 python3-numpy python3-h5py python3-pandas python3-matplotlib
  python3-xarray python3-h5netcdf
  octave octave-netcdf
  clang-14 libclang-rt-14-dev
)
# optional extras: the style test skips visibly without clang-format
OPTIONAL=(clang-format)

missing=()
for p in "${PKGS[@]}" "${OPTIONAL[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]}+${#OPTIONAL[@]} packages already installed"
  exit 0
fi
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# required packages must install; optional ones are tried one by one
req=(); opt=()
for p in "${missing[@]}"; do
  if printf '%s\n' "${OPTIONAL[@]}" | grep -qx "$p"; then opt+=("$p"); else req+=("$p"); fi
done
if [ ${#req[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${req[@]}"
fi
for p in "${opt[@]}"; do
  $SUDO apt-get install -y -qq --no-install-recommends "$p" || echo "install-deps: optional $p not installed"
done
echo "install-deps: done"
