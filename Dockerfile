# The API image: dependencies from the lock file, compiled TypeScript, SDL and migrations beside it.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# A 1 GiB heap limit: V8 then collects before garbage piles up (README, Memory); override here.
ENV NODE_OPTIONS=--max-old-space-size=1024
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schema ./schema
COPY drizzle ./drizzle
USER node
EXPOSE 4000
CMD ["node", "dist/src/main.js"]
