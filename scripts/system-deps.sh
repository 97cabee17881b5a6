#!/usr/bin/env bash
# The Debian 12 packages `make install` (so `make run`) and `make test` need. As root, apt-get installs what
# is missing; otherwise one line says what to install, and the script fails.
# Usage: scripts/system-deps.sh install|test
set -euo pipefail
what=${1:-}
case "$what" in install|test) ;; *) echo "usage: $0 install|test" >&2; exit 2 ;; esac
need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)  # the virtualenv
command -v npm >/dev/null || need+=(npm)                                   # static/vendor (scripts/vendor.sh)
# the papers' PDFs (WeasyPrint): Pango to lay out text, and a Chinese font
ls /usr/lib/*/libpangoft2-1.0.so.0 >/dev/null 2>&1 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
fonts=$(command -v fc-list >/dev/null && fc-list || true)
[[ "$fonts" == *"WenQuanYi Micro Hei"* ]] || need+=(fonts-wqy-microhei)
if [ "$what" = test ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)                             # the browser tests
  # Headless Chromium lays text out with whatever font there is; with none, text has no size.
  [ -n "$fonts" ] || need+=(fonts-liberation)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)  # scripts/pg.sh
  [ -x /usr/bin/pdftotext ] || need+=(poppler-utils)                        # tests read the PDFs back
fi
[ ${#need[@]} -eq 0 ] && exit 0
install=(apt-get install -y -q --no-install-recommends "${need[@]}")
if [ "$(id -u)" != 0 ]; then
  echo "make $what needs Debian packages: as root, run: ${install[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
"${install[@]}"
