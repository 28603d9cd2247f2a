# syntax=docker/dockerfile:1
# One image for the API and the worker (and a migrate target that keeps the Prisma CLI):
#   docker build --target runtime -t ocart-upsells .   then   api: node --import tsx api/main.ts
#                                                             worker: node --import tsx worker/main.ts
#   docker build --target migrate -t ocart-upsells-migrate .   (runs `prisma migrate deploy`)
# TypeScript runs through tsx, as in development; the workflow bundle is built here, once.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs its install scripts: the Temporal bridge ships prebuilt and Prisma runs on
# its JS engine (see shared/TOOLCHAIN.md), so nothing is downloaded at install time.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# Every prisma command wants DATABASE_URL, even generate, which never connects.
RUN DATABASE_URL=postgresql://build@localhost:5432/build npx prisma generate \
 && node --import tsx worker/bundle.ts dist/workflow-bundle.js

# The one-shot migration: `prisma migrate deploy` against DATABASE_URL.
FROM build AS migrate
ENV NODE_ENV=production
USER node
CMD ["npx", "prisma", "migrate", "deploy"]

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    WORKER_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
COPY --from=build /app /app
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund
USER node
EXPOSE 3000 9464 9465
# The API by default; the worker service overrides the command.
CMD ["node", "--import", "tsx", "api/main.ts"]
