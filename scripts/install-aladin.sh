#!/usr/bin/env bash
# Installs what the Aladin Desktop test needs, when missing: Debian's aladin (Aladin Desktop
# 12, /usr/share/java/aladin.jar, with a Java runtime) and xvfb (a virtual X display, for the
# AWT parts Aladin touches even with -nogui).
# Prints the path of aladin.jar on its last line.
set -euo pipefail
jar=/usr/share/java/aladin.jar
if [ ! -f "$jar" ] || ! command -v java >/dev/null 2>&1 || ! command -v Xvfb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends aladin xvfb xauth >&2
fi
[ -f "$jar" ] || { echo "aladin.jar not found at $jar after install" >&2; exit 1; }
echo "$jar"
