# pgconn-agent in a two-stage Debian bookworm image.
#
#   docker build -t pgconn .
#   docker run -p 9188:9188 -e DATABASE_URL=postgresql://monitor@db:5432/app pgconn
#
# The build stage installs exactly the packages .ci/run installs
# (scripts/debian-packages.txt through scripts/install-deps.sh) and builds
# with warnings as errors; the runtime stage has only the shared libraries
# the binary links and runs as an unprivileged user.

FROM debian:bookworm AS build
COPY scripts/debian-packages.txt scripts/install-deps.sh /src/scripts/
RUN /src/scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . /src
ARG PGCONN_REVISION=unknown
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DPGCONN_WERROR=ON \
      -DPGCONN_BUILD_TESTS=OFF -DPGCONN_REVISION="${PGCONN_REVISION}" \
 && cmake --build /build -j"$(nproc)" --target pgconn-agent \
 && /build/pgconn-agent --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 libprometheus-cpp-core1.0 libssl3 libcrypt1 libyaml-cpp0.7 \
      zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin pgconn
COPY --from=build /build/pgconn-agent /usr/local/bin/pgconn-agent
USER 10001:10001
EXPOSE 9188
ENTRYPOINT ["/usr/local/bin/pgconn-agent"]
