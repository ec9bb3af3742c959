# billing-service image. Build: docker build -t billing-service:TAG .
# Two stages: the build stage compiles TypeScript with every dependency; the runtime stage holds
# only production dependencies and dist/ (no build step, no embedded PostgreSQL, no test tools;
# typescript is there as a dependency of @nestjs/swagger and typeorm's ts-node, never run).
# The base is pinned by exact version; pin it by digest too where your registry allows it.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are not needed to compile (they fetch PostgreSQL binaries for development).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's own unprivileged user (uid 1000); Kubernetes enforces runAsNonRoot with this uid.
USER 1000:1000
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/billing/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself is PID 1 (exec form, no shell in between): it receives SIGTERM and drains.
# Migrations run from the same image as a separate command: node dist/src/cli/migrate.js
CMD ["node", "dist/src/main.js"]
