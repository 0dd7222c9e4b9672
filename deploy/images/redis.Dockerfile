# redis-server from Debian's packages, for machines with no registry (deploy-prepare.sh).
# Same interface as the official redis image: redis-server and redis-cli on PATH.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools \
  && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
  && mkdir -p /data && chown node:node /data
USER node
EXPOSE 6379
CMD ["redis-server"]
