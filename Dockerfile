# hitcounter in a container, built from source: a Rust stage makes the fully
# static musl binary (./build-static.sh: the default features and
# PostgreSQL, as published), and the image is that one file on
# FROM scratch, run as an unprivileged user that owns /data.
#
#   podman build --format docker -t hitcounter .   # or: docker build -t hitcounter .
# (--format docker keeps the HEALTHCHECK, which OCI images cannot hold)
#   podman run -d --name hitcounter -p 8080:8080 -v hitcounter-data:/data hitcounter
#
# Options go after the image name (they replace CMD) or in -e VARIABLE=value;
# the original hit-counter image's variables work too, e.g. S3 backups and a
# restore on start:
#   podman run -d -p 8080:8080 -v hitcounter-data:/data -e S3_BUCKET=sqlite \
#     -e AWS_ACCESS_KEY_ID=X -e AWS_SECRET_ACCESS_KEY=Y -e AWS_ENDPOINT_URL=https://s3.example \
#     -e BKPINTERVAL=900 hitcounter
# A bind mount instead of a volume must be writable by uid 10001:
#   mkdir data && sudo chown 10001:10001 data && podman run ... -v ./data:/data hitcounter
#
# RUST_IMAGE picks the build stage's image (any Debian-based Rust image with
# rustup); COMMIT is what --version reports (the context has no .git):
#   podman build --build-arg COMMIT=$(git rev-parse --short=12 HEAD) -t hitcounter .

ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm

FROM ${RUST_IMAGE} AS build
ARG COMMIT=unknown
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends musl-tools file \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN HITCOUNTER_COMMIT="$COMMIT" ./build-static.sh \
 && cp "dist/hitcounter-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)-$(uname -m)-linux" /hitcounter
# What FROM scratch lacks: the user's name (for ps and logs) and a /data
# that the user owns, so a new named volume starts out writable.
RUN mkdir -p /image/etc /image/data \
 && echo 'hitcounter:x:10001:10001:hitcounter:/data:/hitcounter' >/image/etc/passwd \
 && echo 'hitcounter:x:10001:' >/image/etc/group \
 && chown 10001:10001 /image/data \
 && chmod 0750 /image/data

FROM scratch
COPY --from=build /image/ /
COPY --from=build /hitcounter /hitcounter
USER 10001:10001
VOLUME /data
# Defaults in the environment, so that -e overrides them (and the original
# image's DATABASE_FILE_PATH comes before HITCOUNTER_DB).
ENV HITCOUNTER_LISTEN=0.0.0.0:8080 HITCOUNTER_DB=/data/hitcounter.db
EXPOSE 8080
# No shell or curl in the image: the binary asks its own /healthz, at the
# address HITCOUNTER_LISTEN names.
HEALTHCHECK --interval=30s --timeout=6s --start-period=10s CMD ["/hitcounter", "healthcheck"]
# The orderly shutdown (every counted hit stored) fits the 10 s that
# `docker stop` and `podman stop` wait before SIGKILL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/hitcounter"]
CMD ["serve"]
