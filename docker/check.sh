#!/usr/bin/env bash
# Checks the classroom image's recipe without Docker (no Docker engine runs on CI machines).
# The image's real build step, scripts/setup.sh, is proven by the test run itself; this checks
# the rest of the Dockerfile:
#   - it builds with scripts/setup.sh (no second recipe) and copies what that script needs;
#   - it runs as the non-root uid 1000 that JupyterHub and Binder expect, with HOME in /home;
#   - its entrypoint hands the command on unchanged (JupyterHub replaces CMD with
#     jupyterhub-singleuser) and is executable;
#   - the image-only packages (IMAGE_EXTRAS) resolve together with the project's pins
#     (pip's resolver, --dry-run: nothing is installed);
#   - .dockerignore keeps local build output (target/, .venv/) out of the image.
# Needs .venv (scripts/setup.sh). Usage: docker/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ok() { printf 'docker-check: ok   %s\n' "$*"; }
fail() { printf 'docker-check: FAIL %s\n' "$*" >&2; exit 1; }
has() { grep -Eq "$1" "$2"; }

D=Dockerfile
[ -f "$D" ] || fail "no $D"

has '^RUN scripts/setup\.sh( |$)' "$D" || fail "$D does not RUN scripts/setup.sh"
[ -x scripts/setup.sh ] || fail "scripts/setup.sh is missing or not executable"
has '^COPY .* \. /opt/multiproc$' "$D" || fail "$D does not copy the repository to /opt/multiproc"
ok "builds with scripts/setup.sh, on a copy of the repository"

has '^ARG NB_UID=1000$' "$D" || fail "NB_UID does not default to 1000"
has '^USER \$\{NB_UID\}$' "$D" || fail "the image does not switch to USER \${NB_UID}"
[ "$(grep -E '^USER ' "$D" | tail -1)" = 'USER ${NB_UID}' ] || fail "the last USER is not \${NB_UID}"
has 'HOME=/home/\$\{NB_USER\}' "$D" || fail "HOME is not /home/\${NB_USER}"
ok "runs as uid \${NB_UID} (default 1000), HOME=/home/\${NB_USER}"

entry=$(grep -E '^ENTRYPOINT ' "$D" | tail -1)
[ "$entry" = 'ENTRYPOINT ["tini", "-s", "-g", "--", "/opt/multiproc/docker/entrypoint.sh"]' ] ||
    fail "unexpected ENTRYPOINT: $entry"
[ -x docker/entrypoint.sh ] || fail "docker/entrypoint.sh is not executable"
[ "$(grep -vE '^\s*(#|$)' docker/entrypoint.sh | tail -1)" = 'exec "$@"' ] ||
    fail "docker/entrypoint.sh does not end by running its arguments (exec \"\$@\")"
# The entrypoint really passes the command through, with its arguments, and copies the notebooks.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$(HOME=$tmp sh -c 'sed "s#/opt/multiproc/notebooks#$PWD/notebooks#" docker/entrypoint.sh > "$HOME/e.sh"; sh "$HOME/e.sh" printf "%s|" jupyterhub-singleuser --ip=0.0.0.0')
case $out in *'jupyterhub-singleuser|--ip=0.0.0.0|') ;; *) fail "the entrypoint changed the command: $out" ;; esac
[ -n "$(ls "$tmp/notebooks"/*.ipynb 2>/dev/null)" ] || fail "the entrypoint did not copy the notebooks into an empty home"
ok "ENTRYPOINT tini + docker/entrypoint.sh passes 'jupyterhub-singleuser ...' through and fills an empty home"

extras=$(sed -n 's/^ARG IMAGE_EXTRAS="\(.*\)"$/\1/p' "$D")
[ -n "$extras" ] || fail "no ARG IMAGE_EXTRAS=\"...\" in $D"
case " $extras " in *" jupyterhub=="*) ;; *) fail "IMAGE_EXTRAS does not pin jupyterhub (jupyterhub-singleuser)" ;; esac
[ -x .venv/bin/python ] || fail ".venv is missing: run scripts/setup.sh first"
# shellcheck disable=SC2086 # the list is meant to split into requirements
.venv/bin/python -m pip install --dry-run --quiet --disable-pip-version-check -c requirements.txt $extras ||
    fail "IMAGE_EXTRAS ($extras) do not resolve with requirements.txt"
ok "IMAGE_EXTRAS ($extras) resolve with the pins of requirements.txt"

python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); assert c["MappingKernelManager"]["default_kernel_name"] == "rust-multiproc"' \
    docker/jupyter_server_config.json || fail "docker/jupyter_server_config.json does not make rust-multiproc the default kernel"
grep -q 'docker/jupyter_server_config.json .venv/etc/jupyter/jupyter_server_config.json' "$D" ||
    fail "$D does not install docker/jupyter_server_config.json into .venv/etc/jupyter"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); assert c["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"' \
    docker/lab-overrides.json || fail "docker/lab-overrides.json does not turn off the news prompt"
grep -q 'docker/lab-overrides.json .venv/share/jupyter/lab/settings/overrides.json' "$D" ||
    fail "$D does not install docker/lab-overrides.json as JupyterLab's overrides.json"
ok "new notebooks default to the rust-multiproc kernel; JupyterLab asks no news question"

for p in target .venv; do
    grep -qxF "$p" .dockerignore || fail ".dockerignore does not exclude $p"
done
ok ".dockerignore excludes target and .venv"
