# One image with every Rollcall binary (the five services and the `rollcall` CLI). Choose the
# service with the command, e.g. `docker run rollcall rollcall-gateway`; configure it with
# ROLLCALL__SECTION__KEY variables or a mounted file (`--config /etc/rollcall/rollcall.toml`).
#
#   docker build -t rollcall .
#
# Stage 1 builds with the Rust toolchain and Node.js (the dashboard embeds GOV.UK Frontend from
# npm at build time); stage 2 is Debian slim with the binaries alone, run as a user without
# privileges.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN deploy/local/ensure-web-assets.sh \
    && cargo build --release --locked --workspace --bins \
    && mkdir /out \
    && cp target/release/rollcall target/release/rollcall-gateway target/release/rollcall-validator \
          target/release/rollcall-aggregator target/release/rollcall-query target/release/rollcall-web /out/

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin rollcall
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# gRPC (gateway 50051, query 50052), the dashboard (8080) and the operations listeners
# (/metrics, /healthz, /readyz: 9181-9185). Bind them to 0.0.0.0 in the container's settings.
EXPOSE 50051 50052 8080 9181 9182 9183 9184 9185
CMD ["rollcall", "--help"]
