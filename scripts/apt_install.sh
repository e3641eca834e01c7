#!/usr/bin/env bash
# Installs one Debian package for the tests (sourced by install_browser.sh and
# install_postgres.sh, which first check whether what they need is there):
#     apt_install TAG PACKAGE WHAT
# TAG prefixes every message, WHAT names what is missing in them. Runs
# `apt-get update` only when the package lists do not know PACKAGE yet; needs
# root or sudo, and says how to install by hand otherwise (exit 1).

apt_install() {
  local tag="$1" package="$2" what="$3"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "$tag: $what is missing and installing it needs root (no sudo found)" >&2
      echo "$tag: run as root: apt-get install -y $package" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$tag: $what is missing and this system has no apt-get; install $package by hand" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if apt-cache show "$package" >/dev/null 2>&1; then
    echo "$tag: package lists already know $package; skipping apt-get update"
  else
    echo "$tag: package lists do not know $package; running apt-get update"
    "${sudo[@]}" apt-get update -q
  fi
  echo "$tag: installing Debian's $package (apt-get install $package)"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "$package"
}
