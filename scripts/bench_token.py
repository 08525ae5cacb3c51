#!/usr/bin/env python3
"""bench_token.py URL [PRESET] — signs in as the demo user alice and prints
the secret of a new token (preset read_only unless given), for the
benchmarks. Nothing else is printed."""
import http.client
import json
import sys
import urllib.parse

u = urllib.parse.urlparse(sys.argv[1])
preset = sys.argv[2] if len(sys.argv) > 2 else "read_only"
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(path, body, headers):
    c.request("POST", path, body=json.dumps(body), headers=dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    return r.status, r.getheader("Set-Cookie"), r.read()


st, cookie, body = call("/app/api/login", {"email": "alice@example.com", "password": "pegasus-demo"}, {})
if st != 200:
    sys.exit("bench_token: sign-in failed (%d)" % st)
csrf = json.loads(body)["csrf_token"]
st, _, body = call("/app/api/tokens", {"name": "bench", "preset": preset, "expires_in_days": 30},
                   {"Cookie": cookie.split(";")[0], "X-CSRF-Token": csrf})
if st != 201:
    sys.exit("bench_token: token creation failed (%d)" % st)
print(json.loads(body)["secret"])
