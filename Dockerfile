# pgconn-agent in a two-stage Debian bookworm image.
#
#   docker build --build-arg PGCONN_REVISION="$(git rev-parse --short=12 HEAD)" -t pgconn .
#   docker run -p 9188:9188 -e DATABASE_URL=postgresql://monitor@db:5432/app pgconn
#
# CI builds and runs this file with podman (tests/image/image.py): the same
# Dockerfile, on a debian:bookworm-slim made from the Debian archive.
#
# The build stage installs only the build section of
# scripts/debian-packages.txt and builds the shipped configuration: GCC,
# Release, warnings as errors, the binary only. scripts/test.sh takes its
# Release binary from this stage (there is no other Release build). The
# runtime stage installs the packages of the shared libraries the binary
# links, nothing else, and runs as a fixed unprivileged user.

FROM debian:bookworm-slim AS build
COPY scripts/debian-packages.txt scripts/install-deps.sh /src/scripts/
RUN /src/scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . /src
# The revision comes from the host's git (there is no .git in the context).
ARG PGCONN_REVISION=unknown
# A compiler cache when the builder mounts one at /ccache (CI: podman build
# -v CACHE:/ccache), so a rebuild recompiles only what changed; a plain
# docker build has no /ccache and compiles everything. /build is deleted in
# the same step: the layer keeps the binary only.
RUN if [ -d /ccache ]; then \
      export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_DIR=/ccache \
             CCACHE_BASEDIR=/src; \
    fi \
 && cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DPGCONN_WERROR=ON \
      -DPGCONN_BUILD_TESTS=OFF -DPGCONN_REVISION="${PGCONN_REVISION}" \
 && cmake --build /build -j"$(nproc)" --target pgconn-agent \
 && install -D -m 0755 /build/pgconn-agent /out/pgconn-agent \
 && rm -rf /build \
 && /out/pgconn-agent --version

FROM debian:bookworm-slim
# One package per shared library of the binary (libc6, libstdc++6 and
# libgcc-s1 are in the base image); ca-certificates for sslmode=verify-full
# against public CAs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 libprometheus-cpp-core1.0 libssl3 libcrypt1 libyaml-cpp0.7 \
      libcpp-httplib0.11 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 pgconn \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pgconn
# The revision changes with every commit: after the packages, so that a
# rebuild reuses their layer.
ARG PGCONN_REVISION=unknown
LABEL org.opencontainers.image.title="pgconn-agent" \
      org.opencontainers.image.description="PostgreSQL connection monitoring agent and Prometheus exporter" \
      org.opencontainers.image.source="https://github.com/pgconn/pgconn" \
      org.opencontainers.image.revision="${PGCONN_REVISION}"
COPY --from=build /out/pgconn-agent /usr/local/bin/pgconn-agent
USER 10001:10001
EXPOSE 9188
# The agent's own probe: GET http://127.0.0.1:PORT/healthz, the port from
# --web.listen-address or PGCONN_WEB_LISTEN_ADDRESS (the container's
# environment is the probe's too). No shell, no curl. Kept in the image
# only in Docker's format (OCI has no HEALTHCHECK): build with
# --format docker under podman or buildah.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/pgconn-agent", "--health-check"]
ENTRYPOINT ["/usr/local/bin/pgconn-agent"]
