# syntax=docker/dockerfile:1
#
# The admin web app (seed: frontend-admin): nginx serving web/dist/admin, with
# the single-page-app fallback, /health, and /api/ and /stream/ proxied to
# the backend and streamer Services. Build from the repository root once
# web/ exists (the web apps are a separate issue: `npm run build` in web/
# must write web/dist/user and web/dist/admin):
#
#   docker build -f deploy/docker/frontend-admin.Dockerfile -t ginflix/frontend-admin:dev .
#
# Base images are pinned to exact versions; deploy/docker/pin-digests.sh
# adds their digests.

FROM node:22.21.1-bookworm-slim AS build
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# nginx as an unprivileged user (uid 101) on port 8080, everything it
# writes under /tmp and /var/cache/nginx (emptyDirs in the pod).
FROM nginxinc/nginx-unprivileged:1.28.0-alpine AS runtime
COPY deploy/docker/nginx/nginx.conf /etc/nginx/nginx.conf
COPY deploy/docker/nginx/common.conf /etc/nginx/ginflix/common.conf
COPY deploy/docker/nginx/frontend-admin.conf /etc/nginx/ginflix/site.conf
COPY --from=build /src/web/dist/admin /usr/share/nginx/html/admin
USER 101:101
EXPOSE 8080
CMD ["nginx", "-g", "daemon off;"]
