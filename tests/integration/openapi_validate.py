"""Responses checked against the served OpenAPI description (issue 11).

A module that sets OPENAPI_VALIDATE = True has every response its tests get
from its system through `requests` checked (conftest's fixture): the
operation is found from the method and the path; its status must be one the
operation lists (a path with no such method: 405; no such path: 404); every
header the response declares as required must be there, and every Pegasus
header sent (X-Request-Id, X-RateLimit-*, Retry-After, …) must be declared
on that response and match its schema; the body's media type must be one the
response declares, and a JSON body (and each event of an event stream) must
match its schema (python3-jsonschema, JSON Schema 2020-12). A test fails
with the list of what did not match.
"""

import contextlib
import json
import re
import threading
from urllib.parse import urlsplit

import requests
from jsonschema import Draft202012Validator, RefResolver

# Headers the description must declare wherever the server sends them.
API_HEADERS = ("x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
               "retry-after", "idempotent-replayed", "pegasus-token-expires", "www-authenticate",
               "allow", "content-disposition")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Validator:
    def __init__(self, doc, netloc):
        self.doc = doc
        self.netloc = netloc
        self.resolver = RefResolver("", doc)
        self.problems = []
        self.checked = 0
        self._lock = threading.Lock()
        self.paths = []
        for template, item in doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            self.paths.append((re.compile(rx), template, item))

    # ---- $ref
    def deref(self, o):
        while isinstance(o, dict) and "$ref" in o:
            _, o = self.resolver.resolve(o["$ref"])
        return o

    def schema_errors(self, schema, value):
        v = Draft202012Validator(schema, resolver=self.resolver)
        return ["%s at /%s" % (e.message[:200], "/".join(str(p) for p in e.absolute_path))
                for e in v.iter_errors(value)]

    # ---- one response
    def find(self, method, path):
        """(template, operation or None, path item) or None."""
        for rx, template, item in self.paths:
            if rx.match(path):
                return template, item.get(method.lower()), item
        return None

    def check(self, resp, streamed=False):
        """The problems of one response (a list of strings)."""
        req = resp.request
        url = urlsplit(req.url)
        if url.netloc != self.netloc or not url.path.startswith("/v1/"):
            return []
        where = "%s %s → %d" % (req.method, url.path, resp.status_code)
        found = self.find(req.method, url.path)
        if found is None:
            return [] if resp.status_code == 404 else [where + ": no such path, and not a 404"]
        template, op, item = found
        where = "%s %s (%s) → %d" % (req.method, url.path, template, resp.status_code)
        if op is None:
            # No operation for the method: the path's 405, declared on each of its operations.
            ops = [item[m] for m in METHODS if m in item]
            declared = [o["responses"]["405"] for o in ops if "405" in o["responses"]]
            if resp.status_code != 405 or not declared:
                return [where + ": a method the path does not have, answered without a declared 405"]
            return self.check_response(where, declared[0], resp, streamed)
        responses = op["responses"]
        code = str(resp.status_code)
        r = responses.get(code) or responses.get(code[0] + "XX") or responses.get("default")
        if r is None:
            return ["%s: status not in the description (%s lists %s)"
                    % (where, op.get("operationId"), " ".join(sorted(responses)))]
        return self.check_response(where + " " + op.get("operationId", ""), r, resp, streamed)

    def check_response(self, where, r, resp, streamed):
        problems = []
        r = self.deref(r)
        declared = {}
        for name, h in (r.get("headers") or {}).items():
            declared[name.lower()] = self.deref(h)
        for name, h in declared.items():
            value = resp.headers.get(name)
            if value is None:
                if h.get("required"):
                    problems.append("%s: required header %s missing" % (where, name))
                continue
            schema = h.get("schema", {})
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    problems.append("%s: header %s=%r is not an integer" % (where, name, value))
                    continue
            problems += ["%s: header %s: %s" % (where, name, e)
                         for e in self.schema_errors(schema, value)]
        for name in API_HEADERS:
            if name in resp.headers and name not in declared:
                problems.append("%s: header %s sent but not declared" % (where, name))
        content = r.get("content") or {}
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if resp.request.method == "HEAD" or resp.status_code in (204, 304):
            return problems
        if not content:
            if not streamed and resp.content:
                problems.append("%s: a body (%s) where the description has none" % (where, ctype))
            return problems
        if ctype not in content:
            return problems + ["%s: Content-Type %r not among %s" % (where, ctype, sorted(content))]
        schema = content[ctype].get("schema")
        if streamed or schema is None:
            return problems
        if ctype == "application/json":
            try:
                body = resp.json()
            except ValueError:
                return problems + [where + ": the body is not JSON"]
            problems += ["%s: %s" % (where, e) for e in self.schema_errors(schema, body)]
        elif ctype == "text/event-stream":
            problems += ["%s: %s" % (where, e) for e in self.event_errors(resp.text)]
        return problems

    def event_errors(self, text):
        """A message event stream: delta, completed (a Message), error (an Error)."""
        schemas = {
            "message.delta": {"type": "object", "required": ["delta"], "additionalProperties": False,
                              "properties": {"delta": {"type": "string"}}},
            "message.completed": {"$ref": "#/components/schemas/Message"},
            "error": {"$ref": "#/components/schemas/Error"},
        }
        errors, names = [], []
        for block in text.split("\n\n"):
            event = data = None
            for line in block.split("\n"):
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
            if event is None:
                continue
            names.append(event)
            if event not in schemas:
                errors.append("unknown event %r" % event)
                continue
            try:
                errors += ["event %s: %s" % (event, e)
                           for e in self.schema_errors(schemas[event], json.loads(data or ""))]
            except ValueError:
                errors.append("event %s: data is not JSON" % event)
        if not names or names[-1] not in ("message.completed", "error") or \
                any(n != "message.delta" for n in names[:-1]):
            errors.append("events %s: deltas then one message.completed or error" % names)
        return errors

    # ---- watching every response of requests
    def note(self, resp, streamed):
        problems = self.check(resp, streamed)
        with self._lock:
            self.checked += 1
            self.problems += problems

    @contextlib.contextmanager
    def watching(self):
        original = requests.Session.send
        validator = self

        def send(session, prep, **kw):
            resp = original(session, prep, **kw)
            validator.note(resp, bool(kw.get("stream")))
            return resp

        requests.Session.send = send
        try:
            yield self
        finally:
            requests.Session.send = original


def for_system(system):
    """The validator of a system's served description (made once)."""
    v = getattr(system, "_openapi_validator", None)
    if v is None:
        r = requests.get(system.url + "/v1/openapi.json", timeout=30)
        r.raise_for_status()
        v = Validator(r.json(), urlsplit(system.url).netloc)
        system._openapi_validator = v
    return v
