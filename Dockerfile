# syntax=docker/dockerfile:1
#
# One image per binary of the workspace: the web (the default) or the worker.
#
#   docker build -t messages-web .
#   docker build --build-arg BIN=worker -t messages-worker .
#   docker run --rm -p 8080:8080 messages-web
#
# It listens on PORT (8080 here, for both binaries) on all interfaces; every
# setting of the README's configuration table can be passed with -e. Elastic
# Beanstalk's Docker platform proxies port 80 to the port exposed below
# (deploy/README.md, "The Docker platform").
#
# Dependencies are compiled in their own layer (cargo-chef), so a change to the
# app's code rebuilds only the app, not the AWS SDK.

# All stages use the same Rust, or cargo-chef's cached layer would not be reused.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.77
WORKDIR /app

# The recipe: every Cargo.toml and Cargo.lock, none of the code. It only changes
# when the dependencies do, and so does the layer `cargo chef cook` builds.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG BIN=web
RUN case "$BIN" in \
      web|worker) ;; \
      *) echo "BIN must be web or worker, not '$BIN'" >&2; exit 1 ;; \
    esac
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --package "$BIN"
COPY . .
RUN cargo build --release --locked --package "$BIN" --bin "$BIN" \
    && cp "target/release/$BIN" /usr/local/bin/app

FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to the AWS endpoints. curl: the HEALTHCHECK below.
# Versions are not pinned: bookworm's security updates replace exact versions,
# and a pin would break the build as soon as one is published.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/data \
    && chown -R app:app /app
COPY --from=builder /usr/local/bin/app /usr/local/bin/app
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot and similar checks can verify it.
USER 10001:10001
# PORT: where the binary listens (both default to 5000, Elastic Beanstalk's
# Procfile port; the image keeps its own, 8080, for both binaries). HOST: every
# interface of the container, said explicitly: whatever is in front (nginx on
# the Docker platform's instance, `docker run -p`) reaches the app across
# Docker's bridge, never on the container's own loopback, which the
# Elastic Beanstalk bundles' HOST=127.0.0.1 would mean here (their Docker
# variants rewrite it: deploy/README.md, "The Docker platform"). DATA_DIR: the
# embedded backend's files, used only when QUEUE_URL and TABLE_NAME are not set.
ENV PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/app/data \
    LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
# /health answers 200 without calling AWS, so this checks the process only.
# A shell expands PORT at check time, so -e PORT=... is followed.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["sh", "-c", "curl -fsS \"http://127.0.0.1:${PORT}/health\" >/dev/null || exit 1"]
# `docker run <image> provision` runs `web provision` in the web image.
ENTRYPOINT ["/usr/local/bin/app"]
