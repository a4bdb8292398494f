#!/bin/sh
# Entrypoint of the classroom image (run under tini, which reaps orphaned processes).
# Gives the user the course notebooks, then runs the command it was given unchanged:
# `jupyterhub-singleuser ...` under JupyterHub or Binder, `jupyter lab ...` under `docker run`.
#
# Under JupyterHub the home directory is usually a persistent volume mounted over the image's
# /home/jovyan, so the notebooks copied there at build time are hidden: copy them in on the first
# start. A student's existing notebooks/ folder is never touched; to get a fresh copy, rename it.
set -e
src=/opt/multiproc/notebooks
if [ -n "$HOME" ] && [ ! -e "$HOME/notebooks" ] && [ -d "$src" ]; then
    if cp -R "$src" "$HOME/notebooks" 2>/dev/null; then
        echo "multiproc: copied the course notebooks to $HOME/notebooks"
    else
        echo "multiproc: could not copy the notebooks to $HOME (not writable?); they are in $src" >&2
    fi
fi
exec "$@"
