# Karma: build with the Rust toolchain, run on a slim Debian as a non-root
# user. Data lives in the /data volume; logs are JSON lines on stderr.
#
#   docker build -t karma .
#   docker run -p 8080:8080 -v karma-data:/data karma

FROM rust:1-slim AS builder
WORKDIR /src
# The whole tree: Cargo.toml names the benches, so their files must exist.
COPY . .
RUN cargo build --release --locked --bin karma

FROM debian:bookworm-slim
RUN useradd --system --user-group --no-create-home --home-dir /data --shell /usr/sbin/nologin karma \
    && mkdir -p /data \
    && chown karma:karma /data
COPY --from=builder /src/target/release/karma /usr/local/bin/karma
USER karma
VOLUME /data
EXPOSE 8080
# SIGTERM: stop accepting, drain sessions, snapshot, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/karma"]
CMD ["--bind=0.0.0.0", "--port=8080", "--directory=/data"]
