"""Pegasus integration-test harness: one whole system per test module.

A System is scripts/run.sh started in its own process group with its own
PEGASUS_HOME (a short /tmp path: unix socket paths must stay < 100 bytes), its
own free port on 127.0.0.1 and therefore its own Redis. Helpers here speak the
contract of SPEC.md only: HTTP, pegasusctl and the files that
docs/internals.md documents under PEGASUS_HOME.

Every password and token secret a test uses is registered with
System.secret(); when the module ends, every log under PEGASUS_HOME must be
free of all of them.
"""

import contextlib
import json
import os
import random
import re
import secrets as _secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
import uuid
import zlib

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PEGASUS_BUILD", "release")
BIN = os.path.join(ROOT, "build", "san", "bin") if BUILD == "san" else os.path.join(ROOT, "build", "bin")
CTL = os.path.join(BIN, "pegasusctl")

HTTP_TIMEOUT = 15  # seconds; a request that takes longer than this is "hanging"
READY_TIMEOUT = 60

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
TOKEN_RE = re.compile(r"^pgs_[0-9A-Za-z]{38}$")

SCOPES = {
    "profile:read": "Read your profile",
    "subscription:read": "Read your subscription",
    "models:read": "Read available models",
    "bots:read": "Read bots & documents",
    "bots:write": "Create, update, delete bots",
    "conversations:read": "Read API conversations",
    "conversations:write": "Create, delete API conversations",
    "chat:send": "Send chat messages",
    "usage:read": "Read usage analytics",
}
WRITE_SCOPES = {"bots:write", "conversations:write", "chat:send"}
READ_SCOPES = set(SCOPES) - WRITE_SCOPES
PRESETS = {
    "chat": ("Chat API only", {"conversations:read", "conversations:write", "chat:send"}),
    "read_only": ("Read-only", {"profile:read", "subscription:read", "models:read", "bots:read", "usage:read"}),
    "bot_management": ("Bot management", {"bots:read", "bots:write", "models:read", "profile:read"}),
}
WWW_AUTH = 'Bearer realm="pegasus", error="invalid_token"'
UPGRADE_MSG = "Upgrade to use the API"
READ_ONLY_MSG = "Team API access is read-only"


# --------------------------------------------------------------------------
# tokens


def b62_checksum(data: str) -> str:
    crc = zlib.crc32(data.encode()) & 0xFFFFFFFF
    out = []
    for _ in range(6):
        out.append(BASE62[crc % 62])
        crc //= 62
    return "".join(reversed(out))  # big-endian digits, zero-padded


def make_token(valid_checksum=True) -> str:
    """A token with the right format (and, by default, checksum) that no
    server ever issued."""
    body = "".join(random.SystemRandom().choice(BASE62) for _ in range(32))
    ck = b62_checksum(body)
    if not valid_checksum:
        ck = ck[:-1] + BASE62[(BASE62.index(ck[-1]) + 1) % 62]
    return "pgs_" + body + ck


def checksum_ok(tok: str) -> bool:
    return bool(TOKEN_RE.match(tok)) and b62_checksum(tok[4:36]) == tok[36:]


def break_checksum(tok: str) -> str:
    c = tok[-1]
    return tok[:-1] + BASE62[(BASE62.index(c) + 1) % 62]


# --------------------------------------------------------------------------
# small utilities


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uniq(prefix="t") -> str:
    return "%s%s" % (prefix, uuid.uuid4().hex[:10])


def new_password() -> str:
    # long and unique, so that a log scan can find it anywhere
    return "pw-" + _secrets.token_urlsafe(18)


def poll(fn, timeout=15.0, interval=0.1, desc="condition"):
    """Calls fn until it returns a truthy value; returns that value. Raises
    AssertionError with the last value/exception after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - polled conditions may raise meanwhile
            last = repr(e)
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s; last: %r" % (timeout, desc, last))
        time.sleep(interval)


def err(resp):
    """The error object of a JSON error response (asserts the envelope)."""
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("not JSON: %d %r" % (resp.status_code, resp.text[:300]))
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    e = body["error"]
    assert isinstance(e.get("code"), str) and isinstance(e.get("message"), str), e
    return e


def assert_error(resp, status, code, message=None):
    assert resp.status_code == status, "expected %d %s, got %d %r" % (status, code, resp.status_code, resp.text[:500])
    e = err(resp)
    assert e["code"] == code, e
    if message is not None:
        assert e["message"] == message, e
    rid = resp.headers.get("X-Request-Id")
    assert rid, "no X-Request-Id on an error response"
    assert e.get("request_id") == rid, (e, rid)
    if status == 401:
        assert resp.headers.get("WWW-Authenticate") == WWW_AUTH, resp.headers
    return e


def find_key(obj, pred):
    """First value in a nested JSON value whose key satisfies pred."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if pred(k, v):
                return v
        for v in obj.values():
            r = find_key(v, pred)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, pred)
            if r is not None:
                return r
    return None


# --------------------------------------------------------------------------
# raw sockets (hostile HTTP)


class Raw:
    """One raw TCP connection to the edge."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes):
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def read_response(self, timeout=10.0):
        """Reads one response head (and a Content-Length body). Returns
        (status or None, headers dict lower-case, body bytes). None status
        means the server closed (or reset) without any reply."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._recv(deadline):
                break
        if not self.buf:
            return None, {}, b""
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            return None, {}, self.buf
        status = int(m.group(1))
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers.setdefault(k.strip().lower().decode("latin-1"), v.strip().decode("latin-1"))
        n = int(headers.get("content-length", "0") or 0) if headers.get("content-length", "0").isdigit() else 0
        while len(rest) < n:
            before = len(self.buf)
            if not self._recv(deadline):
                break
            rest += self.buf[before:]
        self.buf = rest[n:]
        return status, headers, rest[:n]

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, OSError):
            return False
        if not d:
            return False
        self.buf += d
        return True

    def is_closed(self, timeout=10.0):
        """True when the server closes the connection within timeout
        (anything it still sends is drained and ignored)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, OSError):
                return True
            if not d:
                return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# the system under test


def process_group(pid):
    """The process group of pid, from /proc (None when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return int(st[st.rindex(")") + 2:].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def _die_with_parent():
    """In the child before exec: SIGTERM when the test runner dies, so a
    killed pytest leaves no system behind (run.sh's trap stops the rest)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


class CtlError(AssertionError):
    pass


class User:
    def __init__(self, email, name, password):
        self.email = email
        self.name = name
        self.password = password

    def __repr__(self):
        return "User(%s)" % self.email


class System:
    def __init__(self, env_overrides=None, name="pgs", home=None):
        # home: the PEGASUS_HOME of a system stopped before (its data, Redis
        # and logs), to run it again
        self.home = home or tempfile.mkdtemp(prefix="pgs-", dir="/tmp")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.name = name
        self.secrets = set()
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("PEGASUS_") and k != "PEGASUS_BUILD":
                del self.env[k]
        self.env.update(
            PEGASUS_HOME=self.home,
            PEGASUS_PORT=str(self.port),
            PEGASUS_DEMO="0",
            PEGASUS_BUILD=BUILD,
            # every test client is 127.0.0.1: the per-address sign-in limit
            # is raised, and the tests of it set it (test_session.py)
            PEGASUS_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS="100000",
            # and so is the per-address connection cap (the load and
            # half-open tests open hundreds; test_edge_limits.py sets it)
            PEGASUS_EDGE_MAX_CONNECTIONS_PER_ADDRESS="100000",
            # one edge (the shipped default is one per CPU): rate limits and
            # restarts are exact with one; test_edges.py runs several
            PEGASUS_SERVICE_EDGE_PROCESSES="1",
        )
        self.env["PEGASUS_CONFIG"] = os.path.join(ROOT, "config", "pegasus.conf")
        self.env.update({k: str(v) for k, v in (env_overrides or {}).items()})
        self.proc = None
        self.pgid = None
        self.out_path = os.path.join(self.home, "run.out")

    # ---- lifecycle
    def start(self):
        out = open(self.out_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "scripts", "run.sh")],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        out.close()
        self.pgid = self.proc.pid
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("scripts/run.sh exited with %s before /readyz was 200\n%s"
                                   % (self.proc.returncode, self.tail()))
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    self._check_clean_start()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("/readyz was not 200 within %ds\n%s" % (READY_TIMEOUT, self.tail()))

    def _check_clean_start(self):
        """Every configured process is up, and none died on the way: a
        process that needed a restart to start is a bug, and the tests that
        pick a process to kill need every pid."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            procs = self.status()
            died = [p for p in procs if p["restarts"]]
            if died:
                raise RuntimeError("processes died during start: %r\n%s" % (died, self.tail()))
            if all(p["state"] == "running" and p["pid"] > 1 for p in procs):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("processes not running %ds after /readyz: %r" % (READY_TIMEOUT, procs))
            time.sleep(0.2)

    def tail(self, n=40):
        parts = []
        paths = [self.out_path]
        logdir = os.path.join(self.home, "log")
        if os.path.isdir(logdir):
            paths += [os.path.join(logdir, f) for f in sorted(os.listdir(logdir))]
        for p in paths:
            try:
                with open(p, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()[-n:]
                parts.append("--- %s\n%s" % (p, "\n".join(lines)))
            except OSError:
                pass
        return "\n".join(parts)

    def group_alive(self):
        try:
            os.killpg(self.pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def stop(self):
        """SIGTERM to the group, up to 15 s, then SIGKILL. Returns the list
        of problems (empty when the group went away on SIGTERM)."""
        problems = []
        if self.pgid is None:
            return problems
        if self.proc.poll() is not None:
            problems.append("scripts/run.sh had already exited (status %s) before teardown: the system stopped "
                            "during the module\n%s" % (self.proc.returncode, self.tail(8)))
        try:
            os.killpg(self.pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None and not self.group_alive():
                break
            time.sleep(0.1)
        if self.group_alive():
            problems.append("processes of the group survived SIGTERM for 15 s: %s" % self.group_members())
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            poll(lambda: not self.group_alive(), timeout=5, desc="group gone after SIGKILL")
        else:
            self.proc.wait(timeout=5)
        return problems

    def group_members(self):
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            if process_group(int(pid)) != self.pgid:
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    out.append((int(pid), f.read().replace(b"\0", b" ").decode(errors="replace")[:100]))
            except OSError:
                pass
        return out

    def cleanup(self):
        if os.environ.get("PEGASUS_KEEP_HOME") != "1":
            shutil.rmtree(self.home, ignore_errors=True)

    # ---- secrets and logs
    def secret(self, s):
        if s:
            self.secrets.add(s)
        return s

    def log_files(self):
        files = []
        logdir = os.path.join(self.home, "log")
        for d, _, fs in os.walk(logdir):
            files += [os.path.join(d, f) for f in fs]
        files.append(self.out_path)
        return [f for f in files if os.path.isfile(f)]

    def scan_logs(self):
        """[(file, secret-prefix)] for every registered secret found in a log."""
        found = []
        for path in self.log_files():
            with open(path, "rb") as f:
                data = f.read()
            for s in self.secrets:
                # of a token, even the part after the display prefix is secret
                needle = s[12:] if TOKEN_RE.match(s) else s
                if needle.encode() in data:
                    found.append((os.path.relpath(path, self.home), s[:10] + "…"))
        return found

    # ---- HTTP
    def get(self, path, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return requests.get(self.url + path, **kw)

    def request(self, method, path, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.url + path, **kw)

    def api(self, token, method, path, headers=None, **kw):
        h = {"Authorization": "Bearer " + token} if token is not None else {}
        h.update(headers or {})
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.url + path, headers=h, **kw)

    def raw(self, timeout=5.0):
        return Raw(self.port, timeout)

    # ---- pegasusctl
    def ctl_raw(self, *args, stdin=None, json_out=True, timeout=30):
        argv = [CTL] + (["--json"] if json_out else []) + list(args)
        p = subprocess.run(argv, input=(stdin.encode() if stdin is not None else None),
                           stdin=(None if stdin is not None else subprocess.DEVNULL),
                           capture_output=True, env=self.env, timeout=timeout, cwd=ROOT)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def ctl(self, *args, stdin=None):
        rc, out, errout = self.ctl_raw(*args, stdin=stdin)
        if rc != 0:
            raise CtlError("pegasusctl %s → exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), rc, out, errout))
        out = out.strip()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError:
            raise CtlError("pegasusctl %s --json printed non-JSON: %r" % (" ".join(args), out[:500]))

    def status(self):
        st = self.ctl("status")
        assert isinstance(st, dict) and isinstance(st.get("processes"), list), st
        return st["processes"]

    def procs(self, service):
        return [p for p in self.status() if p.get("service") == service]

    def running(self, service, n=None, timeout=30):
        """The service's processes once every one of them is running with a
        pid (a slot being restarted shows pid 0 for a moment)."""
        def ok():
            procs = self.procs(service)
            if procs and all(p["state"] == "running" and p["pid"] > 1 for p in procs) and \
                    (n is None or len(procs) == n):
                return procs
        return poll(ok, timeout=timeout, interval=0.2, desc="%s processes running" % service)

    def signal(self, pid, sig):
        """Send sig to one process of this system and nothing else: a pid of
        0 or -1, or one outside the system's process group, would signal the
        test runner itself (kill(0, …) is the caller's own group)."""
        assert isinstance(pid, int) and pid > 1, "refusing to signal pid %r" % (pid,)
        pgid = process_group(pid)
        if pgid is None:
            raise ProcessLookupError(pid)
        assert pgid == self.pgid, "pid %d is not in this system's process group (%d)" % (pid, self.pgid)
        os.kill(pid, sig)

    # ---- accounts
    def user(self, plan="pro", name=None):
        email = "%s@example.test" % uniq("u")
        name = name or "User " + email[:6]
        pw = self.secret(new_password())
        self.ctl("user", "add", "--email", email, "--name", name, "--password-stdin", stdin=pw + "\n")
        self.ctl("plan", "set", "--email", email, "--plan", plan)
        return User(email, name, pw)

    def team(self, owner, plan="pro", seats=5, name=None):
        name = name or uniq("Team-")
        self.ctl("team", "add", "--name", name, "--owner", owner.email, "--plan", plan, "--seats", str(seats))
        return name

    def member(self, team, user, *, action="add", role=None, seat=None):
        args = ["team", "member", action, "--team", team, "--email", user.email]
        if role:
            args += ["--role", role]
        if seat is True:
            args.append("--seat")
        elif seat is False:
            args.append("--no-seat")
        return self.ctl(*args)

    def team_state(self, team, pending=None, quota_disabled=None):
        args = ["team", "state", "--team", team]
        if pending is not None:
            args += ["--pending-cancellation", "on" if pending else "off"]
        if quota_disabled is not None:
            args += ["--quota-disabled", "on" if quota_disabled else "off"]
        return self.ctl(*args)

    def login(self, user, workspace=None):
        s = AppSession(self)
        s.login(user.email, user.password)
        if workspace:
            s.switch(workspace)
        return s

    def redis(self, *args):
        p = subprocess.run(["redis-cli", "-s", os.path.join(self.home, "redis.sock")] + list(args),
                           capture_output=True, timeout=15)
        assert p.returncode == 0, p.stderr
        return p.stdout.decode().strip()

    def pepper(self):
        if "PEGASUS_AUTH_PEPPER" in self.env:
            return bytes.fromhex(self.env["PEGASUS_AUTH_PEPPER"])
        with open(os.path.join(self.home, "pepper")) as f:
            return bytes.fromhex(f.read().strip())

    def token_hash(self, tok):
        """The keyed BLAKE2b-256 of a token (docs/internals.md: pgs:tok:<hash>)."""
        import hashlib
        return hashlib.blake2b(tok.encode(), key=self.pepper(), digest_size=32).hexdigest()

    def route_exists(self, method, path):
        """A route exists when an unauthenticated request gets past the
        path/method checks (401 rather than 404/405)."""
        r = self.request(method, path)
        return r.status_code not in (404, 405)


@contextlib.contextmanager
def running_system(env, name, home=None):
    """A System started for a module (conftest's fixture) or one test (home:
    again on the PEGASUS_HOME of a system stopped before); when
    it is done: stopped, its logs checked for leaked secrets, and removed
    (kept, with its path printed, when the stop or the scan found a
    problem). A test that stops the system itself sets stopped_by_test."""
    sysm = System(env, name=name, home=home)
    sysm.stopped_by_test = False
    try:
        sysm.start()
    except Exception:
        sysm.stop()
        sysm.cleanup()
        raise
    failed = True
    try:
        yield sysm
        failed = False
    finally:
        if sysm.stopped_by_test:
            problems = []
            if sysm.group_alive():
                problems = [p for p in sysm.stop() if not p.startswith("scripts/run.sh had already exited")]
        else:
            problems = sysm.stop()
        leaks = sysm.scan_logs()
        if problems or leaks:
            print("PEGASUS_HOME kept at", sysm.home)
        else:
            sysm.cleanup()
        if not failed:
            assert not problems, problems
            assert not leaks, "secrets found in logs: %r" % leaks


class AppSession:
    """The web app's session: cookie + CSRF token."""

    def __init__(self, system):
        self.sys = system
        self.s = requests.Session()
        self.csrf = None
        self.info = None

    def login(self, email, password, expect=200):
        r = self.s.post(self.sys.url + "/app/api/login", json={"email": email, "password": password},
                        timeout=HTTP_TIMEOUT)
        if expect is None:
            return r
        assert r.status_code == expect, "login %s → %d %r" % (email, r.status_code, r.text[:300])
        if r.status_code == 200:
            self.info = r.json()
            self.csrf = self.info.get("csrf_token")
            assert self.csrf, self.info
            self.sys.secret(self.csrf)
        return r

    def req(self, method, path, csrf=True, **kw):
        h = dict(kw.pop("headers", None) or {})
        if csrf and method.upper() not in ("GET", "HEAD") and self.csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return self.s.request(method, self.sys.url + path, headers=h, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def session(self):
        r = self.get("/app/api/session")
        assert r.status_code == 200, r.text
        self.info = r.json()
        return self.info

    def workspaces(self):
        return self.session()["workspaces"]

    def ws(self, name_or_type):
        """The workspace entry with this name ('personal' for the Personal one)."""
        for w in self.workspaces():
            if (name_or_type == "personal" and w.get("type") == "personal") or w.get("name") == name_or_type:
                return w
        raise AssertionError("no workspace %r in %r" % (name_or_type, self.info))

    def switch(self, name_or_id):
        wid = name_or_id if str(name_or_id).startswith("ws_") else self.ws(name_or_id)["id"]
        r = self.post("/app/api/workspace", json={"workspace_id": wid})
        assert r.status_code in (200, 204), "switch → %d %r" % (r.status_code, r.text[:300])
        return wid

    def create_token_raw(self, body):
        return self.post("/app/api/tokens", json=body)

    def create_token(self, name=None, scopes=None, preset=None, days=30, full=False):
        body = {"name": name or uniq("tok-"), "expires_in_days": days}
        if preset:
            body["preset"] = preset
        else:
            body["scopes"] = sorted(scopes if scopes is not None else SCOPES)
        r = self.post("/app/api/tokens", json=body)
        assert r.status_code == 201, "create token → %d %r" % (r.status_code, r.text[:500])
        j = r.json()
        self.sys.secret(j.get("secret"))
        assert isinstance(j.get("secret"), str) and TOKEN_RE.match(j["secret"]), j
        return j if full else j["secret"]

    def tokens(self):
        r = self.get("/app/api/tokens")
        assert r.status_code == 200, r.text
        j = r.json()
        assert j.get("object") == "list" and isinstance(j.get("data"), list), j
        return j["data"]

    def revoke(self, token_id):
        return self.delete("/app/api/tokens/" + token_id)
