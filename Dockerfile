# Portcullis MCP gateway appliance.
#
# Two stages: `build` installs every dependency (TypeScript, AssemblyScript),
# builds dist/ and packs the package as npm would publish it; `runtime` gets
# that tarball and the production dependencies only, pinned by the lockfile.
# test/deploy-container.test.ts builds the runtime tree the same way.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# Dependencies first: this layer is reused while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY gateway ./gateway
COPY agents ./agents
COPY policies ./policies
COPY dashboards ./dashboards
COPY deploy/portcullis.container.yaml ./deploy/
COPY portcullis.yaml README.md ./
RUN npm run build && npm pack --ignore-scripts --pack-destination /pkg

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /opt/portcullis
COPY --from=build /pkg/ /tmp/pkg/
COPY package-lock.json ./
# The packed tree (dist/, policies/, dashboards/, the container configuration),
# then the production dependencies from the lockfile; no lifecycle scripts run.
RUN tar -xzf /tmp/pkg/portcullis-*.tgz --strip-components=1 -C /opt/portcullis \
 && rm -rf /tmp/pkg \
 && cp deploy/portcullis.container.yaml portcullis.yaml \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p certs var \
 && chown -R node:node certs var
# Certificates, audit trail, holds, pins and upstream sandboxes live on volumes, never in the image.
VOLUME ["/opt/portcullis/certs", "/opt/portcullis/var"]
EXPOSE 8443 9464
USER node
# Liveness over TLS without a client certificate (/healthz answers anyone and
# carries no secret); the certificate is not verified because a production
# certificate need not name 127.0.0.1. PORTCULLIS_PORT follows listen.port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "require('node:https').get({host:'127.0.0.1',port:Number(process.env.PORTCULLIS_PORT||8443),path:'/healthz',rejectUnauthorized:false,timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/gateway/cli/main.js"]
CMD ["start"]
