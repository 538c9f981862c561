# syntax=docker/dockerfile:1
# One Dockerfile, two images: `--target api` and `--target worker` (docker-compose.yml and k8s/
# build and use both). Production dependencies only; language data is baked in, nothing is
# downloaded when a container starts.
# BUILD_IMAGE needs Node with npm, RUNTIME_IMAGE Node, a `node` user (uid 1000) and apt: where the
# registry cannot be reached, `npm run test:containers` makes both from Debian's packages.
ARG BUILD_IMAGE=node:24-trixie-slim
ARG RUNTIME_IMAGE=node:24-trixie-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /app
# Manifests first: the npm ci layer is reused until a dependency changes.
# .npmrc: onnxruntime-node ships its CPU libraries; its install script would fetch GPU ones from outside npm.
COPY package.json package-lock.json .npmrc turbo.json tsconfig.base.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/shared/package.json packages/shared/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
RUN npm ci --no-audit --no-fund
COPY packages/contract packages/contract
COPY packages/shared packages/shared
COPY packages/client packages/client
COPY packages/cli packages/cli
COPY apps/api apps/api
COPY apps/worker apps/worker
RUN TURBO_TELEMETRY_DISABLED=1 npm run build

# Each image keeps the production packages of its own app: without the other app's workspace (and
# the CLI's and the client's), prune drops what only they need, so the API leaves out the OCR
# engines. TypeScript is an optional peer of valibot (through @bull-board/api), which prune keeps.
FROM build AS api-modules
RUN rm -rf apps/worker packages/cli packages/client && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver

# onnxruntime-node ships its libraries for five platforms (290 MB): the image keeps its own (45 MB).
FROM build AS worker-modules
RUN rm -rf apps/api packages/cli packages/client && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -path "*/linux/$(node -p process.arch)" -exec rm -rf {} +

FROM ${RUNTIME_IMAGE} AS runtime
# Debian's tesseract-ocr-eng holds the fast English model (OCR_MODEL=fast, the default; npm's
# @tesseract.js-data/eng holds best_int). Further languages: --build-arg EXTRA_LANGUAGES="deu fra".
# The API needs them too: it refuses a submission in a language that is not installed.
ARG EXTRA_LANGUAGES=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils tini tesseract-ocr-eng \
    $(for language in ${EXTRA_LANGUAGES}; do echo "tesseract-ocr-${language}"; done) \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    DATA_DIR=/data \
    TESSDATA_DIR=/usr/share/tesseract-ocr/5/tessdata
WORKDIR /app
# The image's own user (uid 1000, `node`) owns the data folder, so that a fresh volume mounted
# there is writable.
RUN mkdir -p /data && chown node:node /data
COPY --from=build /app/package.json ./
COPY --from=build /app/packages/contract/package.json packages/contract/
COPY --from=build /app/packages/contract/dist packages/contract/dist
COPY --from=build /app/packages/shared/package.json packages/shared/
COPY --from=build /app/packages/shared/dist packages/shared/dist
# tini forwards SIGTERM to node and reaps pdftoppm and pdfinfo children.
ENTRYPOINT ["/usr/bin/tini", "--"]

FROM runtime AS api
COPY --from=api-modules /app/node_modules node_modules
COPY --from=build /app/apps/api/package.json apps/api/
COPY --from=build /app/apps/api/dist apps/api/dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT ?? 3000}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/api/dist/main.js"]

FROM runtime AS worker
# Tesseract's command reads pages (OCR_ENGINE=native, the default); qpdf copies pages read from
# their text layer into the searchable PDF; GraphicsMagick and Ghostscript serve RASTERIZER=pdf2pic,
# which the default (poppler) does not need.
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr qpdf graphicsmagick ghostscript \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY --from=worker-modules /app/node_modules node_modules
COPY --from=build /app/apps/worker/package.json /app/apps/worker/memory-profile.json /app/apps/worker/tesseract-thread.cjs apps/worker/
COPY --from=build /app/apps/worker/dist apps/worker/dist
USER node
# Fewer malloc arenas: each thread's arena otherwise adds to RSS (see scripts/lib/process-env.ts).
ENV MALLOC_ARENA_MAX=2
EXPOSE 3001
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.WORKER_PORT ?? 3001}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/worker/dist/main.js"]
