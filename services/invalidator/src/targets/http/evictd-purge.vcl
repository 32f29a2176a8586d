# evictd's purge requests, for a Varnish in front of your app (see the operator's guide, "HTTP
# caches and CDNs"). Include it from your VCL before your own vcl_recv (VCL runs every
# definition of a built-in subroutine, in order):
#
#   vcl 4.1;
#   include "evictd-purge.vcl";
#   backend default { ... }
#
# Your origin lists each response's surrogate keys (evictd's tags, and its cache keys with
# keysAsTags) in an `xkey` header, separated by spaces. Requests evictd sends:
#   PURGE  xkey-purge: k1 k2 ...          every object with one of the keys (vmod xkey, preset varnish-xkey)
#   PURGE  /path (Host: the site)         that URL (keyUrls)
#   BAN    xkey-ban: <regex>              every object whose xkey header matches (shapes; preset varnish-ban)
#   BAN    url-ban-host, url-ban: <regex> every object of that host whose URL matches (keyUrls shapes)
# Bans test only obj.* headers, so the ban lurker clears them in the background.
# Plain Varnish without vmod xkey: delete the `import xkey;` line and the xkey-purge branch, and
# use preset varnish-ban.

import std;
import xkey;

# Who may purge: the evictd invalidators. Widen it to their addresses.
acl evictd_purgers {
  "127.0.0.1";
  "::1";
}

sub vcl_recv {
  if (req.method == "PURGE" || req.method == "BAN") {
    if (client.ip !~ evictd_purgers) {
      return (synth(403, "Forbidden: not an evictd purger address"));
    }
    if (req.method == "PURGE" && req.http.xkey-purge) {
      return (synth(200, "Purged " + xkey.purge(req.http.xkey-purge) + " objects"));
    }
    if (req.method == "PURGE") {
      return (purge);
    }
    if (req.http.xkey-ban) {
      if (std.ban("obj.http.xkey ~ " + req.http.xkey-ban)) {
        return (synth(200, "Banned"));
      }
      return (synth(400, "Bad ban: " + std.ban_error()));
    }
    if (req.http.url-ban && req.http.url-ban-host) {
      if (std.ban("obj.http.x-evictd-host == " + req.http.url-ban-host + " && obj.http.x-evictd-url ~ " + req.http.url-ban)) {
        return (synth(200, "Banned"));
      }
      return (synth(400, "Bad ban: " + std.ban_error()));
    }
    return (synth(400, "BAN needs an xkey-ban header, or url-ban and url-ban-host"));
  }
}

sub vcl_backend_response {
  # What URL bans test (obj.* only, so the lurker can apply them).
  set beresp.http.x-evictd-host = bereq.http.host;
  set beresp.http.x-evictd-url = bereq.url;
}

sub vcl_deliver {
  unset resp.http.x-evictd-host;
  unset resp.http.x-evictd-url;
}
