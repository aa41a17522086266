# Karma: built with the Rust toolchain of the minimum supported version,
# run on a slim Debian as a fixed non-root user (UID/GID 10001). Data lives
# in the /data volume; logs are JSON lines on stderr. See
# docs/operations.md, "Docker":
#
#   podman build --format docker -t karma .      (or: docker build -t karma .)
#   mkdir -p /srv/karma && chown 10001:10001 /srv/karma
#   podman run -d --name karma -p 8080:8080 -p 9108:9108 -v /srv/karma:/data karma
#
# Base images are fully qualified (podman has no short-name default) and
# pinned: the builder to Cargo.toml's rust-version, both to Debian 12.

FROM docker.io/library/rust:1.89-slim-bookworm AS builder
WORKDIR /src
# The whole tree: Cargo.toml names the benches, so their files must exist.
COPY . .
# Stripped and without debug info (the release profile keeps debug info for
# profiling): about 1.7 MB instead of 13 MB.
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked --bin karma

FROM docker.io/library/debian:bookworm-slim
# A fixed UID/GID, so a host directory mounted on /data can be given to it
# (chown 10001:10001) before the first start.
RUN groupadd --system --gid 10001 karma \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /data \
       --shell /usr/sbin/nologin karma \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 0750 /data
COPY --from=builder /src/target/release/karma /usr/local/bin/karma
USER 10001:10001
# Settings are environment variables, not flags: flags win over the
# environment, so `-e KARMA_...` at `run` time keeps working. Tokens go in
# with `--env-file` (or a secret), never in the image.
ENV KARMA_HOST=0.0.0.0 \
    KARMA_PORT=8080 \
    KARMA_DUMP_DIR=/data \
    KARMA_HTTP_BIND=0.0.0.0 \
    KARMA_HTTP_PORT=9108
VOLUME /data
EXPOSE 8080 9108
# Healthy while GET /health answers 200 (503 when the WAL failed, while
# restoring, bootstrapping or stopping). bash's /dev/tcp is the HTTP client:
# the image carries no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${KARMA_HTTP_PORT} && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && read -r _ code _ <&3 && [ \"$code\" = 200 ]"]
# SIGTERM: stop accepting, drain clients, snapshot, exit 0 (give `stop` a
# --time longer than KARMA_SHUTDOWN_TIMEOUT_SECONDS plus the snapshot).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/karma"]
