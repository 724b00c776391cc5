# proxy-private-images as a KRM function container image (kpt `image:`, kustomize `container:`, Argo CD, CI).
# Build:  docker build --build-arg VERSION=0.1.0 -t ghcr.io/proxy-private-images/proxy-private-images:0.1.0 .
# Run:    docker run -i --rm --network host -e LICENSE_ID IMAGE < resourcelist.yaml
ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY functionconfig ./functionconfig
COPY src ./src
RUN npm run build \
 && test -s dist/proxy-private-images.js

FROM ${NODE_IMAGE}
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="proxy-private-images" \
      org.opencontainers.image.description="KRM function: route private container images through a license-authenticated registry proxy and add the image pull Secret" \
      org.opencontainers.image.source="https://github.com/proxy-private-images/proxy-private-images" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
ENV NODE_ENV=production
COPY --from=build /src/dist/ /fn/
WORKDIR /fn
# kpt and kustomize run the container as `nobody` anyway; this is for everyone else.
USER node
ENTRYPOINT ["node", "/fn/proxy-private-images.js"]
