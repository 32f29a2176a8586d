# The demo's HTTP tier: what a Varnish in front of the demo API caches, and the page's lookups.
# Included after evictd-purge.vcl (which answers evictd's PURGE and BAN requests first) by the
# main VCL that names the API as its first backend: `npm run demo` writes one
# (services/demo-api/src/varnish-tier.ts), docker compose mounts varnish-compose.vcl.
#
# Cached: the API's cached reads, whose answers list their surrogate keys in `xkey` (the cache
# key and its tags), kept for an hour: evictd purges them on change. Everything else passes.
# A request with `x-demo-probe: lookup` (the page's timeline watching for the purge,
# services/demo-api/src/timeline/varnish-probe.ts) is answered from the cache only: a HIT
# delivers the object, a miss is a 204 without a fetch, so watching Varnish fills nothing.
# Every answer says `x-varnish-cache: HIT` or `MISS`.

sub vcl_recv {
  if ((req.method != "GET" && req.method != "HEAD") || req.url !~ "^/(products|categories)/[0-9]+(/products)?$") {
    return (pass);
  }
  return (hash);
}

sub vcl_miss {
  if (req.http.x-demo-probe == "lookup") {
    return (synth(204, "Not in the cache"));
  }
}

sub vcl_backend_response {
  # The API says no-store (for browsers); Varnish keeps it anyway: evictd purges it on change.
  if (beresp.status == 200) {
    set beresp.ttl = 1h;
    set beresp.grace = 0s;
    return (deliver);
  }
}

sub vcl_deliver {
  if (obj.hits > 0) {
    set resp.http.x-varnish-cache = "HIT";
  } else {
    set resp.http.x-varnish-cache = "MISS";
  }
}

sub vcl_synth {
  if (req.http.x-demo-probe == "lookup" && resp.status == 204) {
    set resp.http.x-varnish-cache = "MISS";
    return (deliver);
  }
}
