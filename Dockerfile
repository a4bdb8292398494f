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

# Rust at the version CI uses, on Debian bookworm (as CI). The toolchain stays in the image: the
# kernel compiles every cell with it. Its CARGO_HOME and RUSTUP_HOME are writable by all users.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
FROM ${RUST_IMAGE}

ARG NB_USER=jovyan
ARG NB_UID=1000
# Packages only the image needs, held to the project's pins (-c requirements.txt):
# jupyterhub gives `jupyterhub-singleuser` (a Hub supports single-user servers of its own and older
# versions: set this to your Hub's version if it is older); notebook gives `jupyter notebook`,
# which Binder can launch.
ARG IMAGE_EXTRAS="jupyterhub==5.5.4 notebook==7.6.5"

ENV NB_USER=${NB_USER} \
    NB_UID=${NB_UID} \
    USER=${NB_USER} \
    HOME=/home/${NB_USER} \
    SHELL=/bin/bash \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8

# Python 3 with venv (scripts/setup.sh makes .venv with it); tini as PID 1, to reap processes that
# outlive their parents (pool workers of an interrupted cell). gcc comes with the Rust image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --no-log-init --uid "${NB_UID}" --gid users --shell /bin/bash "${NB_USER}" \
 && install -d -o "${NB_UID}" -g users /opt/multiproc

# The project lives outside $HOME, because JupyterHub mounts a volume over the home directory.
# Caches go with it: the kernel's work directory (the pre-built library) and evcxr's crate cache
# are found through XDG_CACHE_HOME, at build time and when a kernel starts.
ENV XDG_CACHE_HOME=/opt/multiproc/cache \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/multiproc/.venv/bin:${PATH}
COPY --chown=${NB_UID}:users . /opt/multiproc
USER ${NB_UID}
WORKDIR /opt/multiproc

# The build: exactly the project's setup (.venv with JupyterLab, the kernel built and installed into
# .venv, the library pre-built in the kernel's first work slot), then the image-only packages. The
# kernel binary stays; cargo's intermediate files for it (about 1 GB) go.
RUN scripts/setup.sh \
 && .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.txt ${IMAGE_EXTRAS} \
 && rm -rf target/release/build target/release/deps target/release/.fingerprint target/release/incremental \
 && target/release/multiproc-kernel help >/dev/null \
 && jupyter kernelspec list | grep -q rust-multiproc \
 && command -v jupyterhub-singleuser \
 && cp -R notebooks "${HOME}/notebooks"

WORKDIR ${HOME}
EXPOSE 8888
# tini reaps orphans; the entrypoint copies the notebooks into a fresh home, then execs the command
# unchanged, so JupyterHub's and Binder's `jupyterhub-singleuser` (which replaces CMD) works.
ENTRYPOINT ["tini", "-g", "--", "/opt/multiproc/docker/entrypoint.sh"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
