# Classroom image: JupyterLab with the "Rust (multiproc)" kernel, the multiproc library already
# compiled for it, and the course notebooks in the user's home directory.
#
# The same image works with `docker run`, JupyterHub (Zero to JupyterHub: non-root uid 1000,
# `jupyterhub-singleuser` on PATH) and Binder (repo2docker builds this Dockerfile, passing NB_USER
# and NB_UID). docs/deploy.md tells a teacher how to build and deploy it.
#
# Its build step is the project's own scripts/setup.sh, the command CI runs (tests/browser/run.sh),
# so CI proves it; docker/check.sh (also run by CI) checks the rest of this file.
#
#   docker build -t multiproc-class .
#   docker run --rm -p 8888:8888 multiproc-class

# Python and Rust at the versions CI uses, on Debian bookworm (as CI). Python comes from the
# official Python image, not Debian's package: Debian 12's python3 is 3.11.2, and requirements.txt
# pins packages that need 3.11.5 or newer. The Rust toolchain is copied from the official Rust image
# and stays in the image, owned by the notebook user: the kernel compiles every cell with it.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${RUST_IMAGE} AS rust
FROM ${PYTHON_IMAGE}

ARG NB_USER=jovyan
ARG NB_UID=1000

ENV NB_USER=${NB_USER} \
    NB_UID=${NB_UID} \
    USER=${NB_USER} \
    HOME=/home/${NB_USER} \
    SHELL=/bin/bash \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo
COPY --from=rust --chown=${NB_UID}:users /usr/local/rustup /usr/local/rustup
COPY --from=rust --chown=${NB_UID}:users /usr/local/cargo /usr/local/cargo

# gcc and libc6-dev: rustc links every cell with them. tini as PID 1 reaps processes that outlive
# their parents (pool workers of an interrupted cell).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc libc6-dev tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --no-log-init --uid "${NB_UID}" --gid users --shell /bin/bash "${NB_USER}" \
 && install -d -o "${NB_UID}" -g users /opt/multiproc /opt/multiproc-cache

# The project lives outside $HOME, because JupyterHub mounts a volume over the home directory.
# So do the caches: the kernel's work directory (the pre-built library) and evcxr's crate cache are
# found through XDG_CACHE_HOME, at build time and when a kernel starts. Not inside the project:
# cargo refuses to build a work slot that sits below the project's workspace.
ENV XDG_CACHE_HOME=/opt/multiproc-cache \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/multiproc/.venv/bin:/usr/local/cargo/bin:${PATH}
COPY --chown=${NB_UID}:users . /opt/multiproc
USER ${NB_UID}
WORKDIR /opt/multiproc

# The build: exactly the project's setup (.venv with JupyterLab, the kernel built and installed into
# .venv, the library pre-built in the kernel's first work slot). The kernel binary stays; cargo's
# intermediate files for it (about 1 GB) go.
RUN scripts/setup.sh \
 && rm -rf target/release/build target/release/deps target/release/.fingerprint target/release/incremental \
 && target/release/multiproc-kernel help >/dev/null

# Then, in a layer of its own, what only the image needs: the IMAGE_EXTRAS packages, held to the
# project's pins (-c requirements.txt): jupyterhub gives `jupyterhub-singleuser` (a Hub supports
# single-user servers of its own and older versions: set this to your Hub's version if the Hub is
# older), notebook gives `jupyter notebook`, which Binder can launch; "Rust (multiproc)" as the
# default kernel for new notebooks; JupyterLab settings for a class (no "Jupyter news?" prompt, no
# update check); the notebooks in the home directory. IMAGE_EXTRAS is declared here rather than at
# the top so that changing it does not redo the setup layer.
ARG IMAGE_EXTRAS="jupyterhub==5.5.4 notebook==7.6.5"
RUN .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.txt ${IMAGE_EXTRAS} \
 && install -D -m 644 docker/jupyter_server_config.json .venv/etc/jupyter/jupyter_server_config.json \
 && install -D -m 644 docker/lab-overrides.json .venv/share/jupyter/lab/settings/overrides.json \
 && jupyter kernelspec list | grep -q rust-multiproc \
 && command -v jupyterhub-singleuser \
 && cp -R notebooks "${HOME}/notebooks"

WORKDIR ${HOME}
EXPOSE 8888
# tini reaps orphans (-s: also when it is not PID 1) and passes signals on to the whole group (-g);
# the entrypoint copies the notebooks into a fresh home, then execs the command unchanged, so
# JupyterHub's and Binder's `jupyterhub-singleuser ...` (which replaces CMD) runs as given.
ENTRYPOINT ["tini", "-s", "-g", "--", "/opt/multiproc/docker/entrypoint.sh"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
