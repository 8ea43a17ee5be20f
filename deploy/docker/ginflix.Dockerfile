# syntax=docker/dockerfile:1
#
# The ginflix binary with FFmpeg: one image for the backend and the
# streamer (the Deployments pass different GINFLIX_ROLES). Build from the
# repository root:
#
#   docker build -f deploy/docker/ginflix.Dockerfile -t ginflix/backend:dev .
#
# Base images are pinned to exact versions; deploy/docker/pin-digests.sh
# adds their digests (it needs a registry, so it was not run where this was
# written).

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ginflix ./cmd/ginflix

# Debian 12's FFmpeg (5.1), the one the pipeline is tested with. No
# compiler, no Go, no package sources left behind.
FROM debian:12.12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ginflix \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/ginflix --shell /usr/sbin/nologin ginflix \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ginflix
COPY --from=build /out/ginflix /usr/local/bin/ginflix
USER 10001:10001
ENV GINFLIX_ADDR=0.0.0.0:8080 \
    GINFLIX_DATA_DIR=/var/lib/ginflix
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ginflix"]
CMD ["serve"]
