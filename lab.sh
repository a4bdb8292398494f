#!/usr/bin/env bash
# The project's main command: sets everything up (scripts/setup.sh, fast when already done), then
# starts JupyterLab on notebooks/ with the "Rust (multiproc)" kernel and prints its URL.
#
# Usage: ./lab.sh [--headless] [--public | --ip ADDR] [--port N]
#   --headless, --no-browser  do not open a browser (for servers; the default without a display)
#   --public                  listen on all interfaces (0.0.0.0) instead of 127.0.0.1; anyone who
#                             can reach the port and has the URL's token can run code as you
#   --ip ADDR                 listen on ADDR
#   --port N                  the port (default 8888; if it is taken, the next free one)
set -euo pipefail
cd "$(dirname "$0")"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { printf 'lab: %s\n' "$*" >&2; exit 2; }

ip=127.0.0.1
port=8888
browser=1
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" = Linux ]; then browser=0; fi
while [ $# -gt 0 ]; do
    case $1 in
        --headless | --no-browser) browser=0 ;;
        --public) ip=0.0.0.0 ;;
        --ip) [ $# -ge 2 ] || die "--ip needs an address"; ip=$2; shift ;;
        --ip=*) ip=${1#--ip=} ;;
        --port) [ $# -ge 2 ] || die "--port needs a number"; port=$2; shift ;;
        --port=*) port=${1#--port=} ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (./lab.sh --help lists the options)" ;;
    esac
    shift
done
case $port in '' | *[!0-9]*) die "--port needs a number, not '$port'" ;; esac

scripts/setup.sh
mkdir -p notebooks

PY=.venv/bin/python
# A free port from the one asked for, and a token, chosen here so the URL printed below is right.
port=$("$PY" - "$ip" "$port" <<'PYEOF'
import socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
for p in range(port, port + 50):
    with socket.socket() as s:
        try:
            s.bind((ip, p))
        except OSError:
            continue
        print(p)
        break
else:
    sys.exit(f"lab: no free port in {port}..{port + 49} on {ip}")
PYEOF
)
token=$("$PY" -c 'import secrets; print(secrets.token_hex(24))')

host=$ip
[ "$ip" = 0.0.0.0 ] && host=$(hostname 2>/dev/null || echo "<this-machine>")
url="http://$host:$port/lab?token=$token"
echo
echo "JupyterLab on notebooks/ with the Rust (multiproc) kernel:"
echo "    $url"
[ "$ip" = 0.0.0.0 ] && echo "    (listening on all interfaces; from this machine: http://127.0.0.1:$port/lab?token=$token)"
echo "Stop it with Ctrl-C."
echo

args=(--ServerApp.root_dir=notebooks "--ServerApp.ip=$ip" "--ServerApp.port=$port"
      --ServerApp.port_retries=0 "--IdentityProvider.token=$token")
[ "$browser" = 1 ] || args+=(--no-browser)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec .venv/bin/jupyter lab "${args[@]}"
