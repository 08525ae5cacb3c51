#!/usr/bin/env python3
"""bench_token.py URL [PRESET | SCOPE,SCOPE,…] — signs in as the demo user
alice and prints the secret of a new token (preset read_only unless given;
a comma-separated list is taken as its scopes), for the benchmarks.
Nothing else is printed."""
import http.client
import json
import os
import sys
import urllib.parse

u = urllib.parse.urlparse(sys.argv[1])
what = sys.argv[2] if len(sys.argv) > 2 else "read_only"
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(path, body, headers):
    c.request("POST", path, body=json.dumps(body), headers=dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    return r.status, r.getheader("Set-Cookie"), r.read()


st, cookie, body = call("/app/api/login", {"email": "alice@example.com", "password": "pegasus-demo"}, {})
if st != 200:
    sys.exit("bench_token: sign-in failed (%d)" % st)
csrf = json.loads(body)["csrf_token"]
body = {"name": "bench-" + os.urandom(4).hex(), "expires_in_days": 30}
if "," in what or ":" in what:
    body["scopes"] = what.split(",")
else:
    body["preset"] = what
st, _, body = call("/app/api/tokens", body,
                   {"Cookie": cookie.split(";")[0], "X-CSRF-Token": csrf})
if st != 201:
    sys.exit("bench_token: token creation failed (%d)" % st)
print(json.loads(body)["secret"])
