# The Varnish of docker-compose.yml, in front of the demo API (mounted as /etc/varnish/default.vcl
# with evictd-purge.vcl and varnish-cache.vcl beside it). evictd-invalidate's `edge` target
# (infra/docker/evictd.yaml) purges it by xkey.
vcl 4.1;

# The first backend is the default one: the demo API.
backend api {
  .host = "demo-api";
  .port = "8080";
}

# This Varnish itself, over loopback.
backend self {
  .host = "127.0.0.1";
  .port = "80";
}

# evictd-purge.vcl takes purges from loopback only. Here evictd-invalidate is another container
# on the compose network: its PURGE and BAN requests are passed to this Varnish over loopback,
# where evictd-purge.vcl handles them as usual.
acl compose_network {
  "10.0.0.0"/8;
  "172.16.0.0"/12;
  "192.168.0.0"/16;
}

sub vcl_recv {
  if ((req.method == "PURGE" || req.method == "BAN") && client.ip ~ compose_network) {
    set req.backend_hint = self;
    return (pass);
  }
}

include "evictd-purge.vcl";
include "varnish-cache.vcl";
