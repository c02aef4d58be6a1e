# pgconn-agent in a two-stage Debian bookworm image.
#
#   docker build --build-arg PGCONN_REVISION="$(git rev-parse --short=12 HEAD)" -t pgconn .
#   docker run -p 9188:9188 -e DATABASE_URL=postgresql://monitor@db:5432/app pgconn
#
# The build stage installs only the build section of
# scripts/debian-packages.txt and builds exactly what CI's Release pass
# (scripts/test.sh) builds: GCC, Release, warnings as errors, the binary
# only. The runtime stage installs the packages of the shared libraries the
# binary links, nothing else, and runs as a fixed unprivileged user.
# tests/packaging/check_dockerfile.py checks all of this against the real
# Release binary, since CI has no Docker engine.

FROM debian:bookworm AS build
COPY scripts/debian-packages.txt scripts/install-deps.sh /src/scripts/
RUN /src/scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . /src
# The revision comes from the host's git (there is no .git in the context).
ARG PGCONN_REVISION=unknown
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DPGCONN_WERROR=ON \
      -DPGCONN_BUILD_TESTS=OFF -DPGCONN_REVISION="${PGCONN_REVISION}" \
 && cmake --build /build -j"$(nproc)" --target pgconn-agent \
 && /build/pgconn-agent --version

FROM debian:bookworm-slim
ARG PGCONN_REVISION=unknown
LABEL org.opencontainers.image.title="pgconn-agent" \
      org.opencontainers.image.description="PostgreSQL connection monitoring agent and Prometheus exporter" \
      org.opencontainers.image.revision="${PGCONN_REVISION}"
# One package per shared library of the binary (libc6, libstdc++6 and
# libgcc-s1 are in the base image); ca-certificates for sslmode=verify-full
# against public CAs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 libprometheus-cpp-core1.0 libssl3 libcrypt1 libyaml-cpp0.7 \
      libcpp-httplib0.11 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pgconn \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pgconn
COPY --from=build /build/pgconn-agent /usr/local/bin/pgconn-agent
USER 10001:10001
EXPOSE 9188
# The agent's own probe: GET http://127.0.0.1:PORT/healthz, the port from
# --web.listen-address or PGCONN_WEB_LISTEN_ADDRESS (the container's
# environment is the probe's too). No shell, no curl.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/pgconn-agent", "--health-check"]
ENTRYPOINT ["/usr/local/bin/pgconn-agent"]
