# nats-server from Debian's packages (2.9.10), for machines with no registry (deploy-prepare.sh).
# Same interface as the official nats image: ENTRYPOINT nats-server, wget for the healthcheck.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server wget \
  && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
  && mkdir -p /data && chown node:node /data
USER node
EXPOSE 4222 6222 8222
ENTRYPOINT ["nats-server"]
CMD ["-c", "/etc/nats/nats.conf"]
