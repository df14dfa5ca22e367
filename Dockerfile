# Portcullis MCP gateway appliance.
FROM node:20-bookworm-slim
WORKDIR /opt/portcullis
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY tsconfig.json ./
COPY gateway ./gateway
COPY agents ./agents
COPY policies ./policies
COPY dashboards ./dashboards
COPY portcullis.yaml ./
RUN npm ci --no-audit --no-fund && npm prune --omit=dev \
 && mkdir -p certs var && chown -R node:node certs var
# Certificates, audit trail and upstream sandboxes live on volumes, never in the image.
VOLUME ["/opt/portcullis/certs", "/opt/portcullis/var"]
EXPOSE 8443 9464
USER node
ENTRYPOINT ["node", "dist/gateway/cli/main.js"]
CMD ["start"]
