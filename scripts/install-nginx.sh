#!/usr/bin/env bash
# Installs Debian's nginx when missing (the remote-HiPS test reads tiles through it, as from any
# static host). Prints the nginx binary on its last line.
set -euo pipefail
if ! [ -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >&2 \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2
fi
command -v nginx || echo /usr/sbin/nginx
