# syntax=docker/dockerfile:1
#
# sluss container image: a reverse-proxy authentication sidecar.
#
#   docker build -t sluss .
#   docker run --rm -p 8080:8080 -p 9090:9090 -v "$PWD/my-config:/etc/sluss:ro" sluss
#
# my-config/ is a config directory (sluss.yaml + tenants/) listening on 0.0.0.0; see
# docs/configuration.md and config/examples/. (config/demo/ is for `npm start` only: it
# binds 127.0.0.1 and expects secrets the demo generates.)
#
# Pin the base image by digest in your registry mirror for reproducible builds
# (node:24-bookworm-slim@sha256:...).

ARG NODE_IMAGE=node:24-bookworm-slim

# ─── build: install everything, compile TypeScript, drop dev dependencies ────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false

# Manifests first, so the dependency layer is cached until they change.
# (`npm ci` also runs the `node` devDependency's install script, which fetches the
# pinned Node 24 binary that npm scripts then use; it is pruned below.)
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev \
 && npm cache clean --force

# ─── runtime: compiled JS + production node_modules, non-root ──────────────────
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# Numeric UID/GID so Kubernetes `runAsNonRoot` can verify it without /etc/passwd.
# Files stay owned by root and are read-only to the process.
USER 10001:10001

# 8080: public (proxied app + /.sluss/*); 9090: admin (/healthz, /readyz, /metrics).
EXPOSE 8080 9090

# Node receives SIGTERM directly (exec form, PID 1) and sluss drains on it.
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve", "--config", "/etc/sluss"]
