"""theta_sim.agents -- AI agents (RAG chatbots) on the controller host.

Reference section 4.  A chatbot belongs to the one project the API key
may act on; its documents go into its knowledge base as
``multipart/form-data`` uploads (multipart.py).  The simulator keeps
every byte of every document so that a test can compare what the
client sent with what it meant to send (``GET /__sim__/chatbots``
shows the size and SHA-256 of each).

The routes sit behind the same Cloudflare check, gateway faults and
``x-api-key`` as the deployment routes (controller.py calls
``Agents.handle`` after the key check).  Check order of a call: key
(401) -> body framing (400: JSON, or multipart) -> project (400 when
absent, 403 for another) -> chatbot (404) -> document (404, update and
get) -> fields (400) -> the action.  The document get alone takes its
``project_id`` as optional, because one of the two published clients
sends none there (reference 4: only the root ``api.js`` adds it).

ASSUMPTIONS (the reference leaves them open): the list shape of 8.12;
ids of ``chatbot_``/``doc_``/``kb_`` + 20 characters of [0-9a-z];
created_at as ISO 8601 UTC; ``embedding_token_count`` = bytes / 4
rounded up; the field limits below; unknown keys of a create or update
body are ignored (and shown in the control view); ``null`` values count
as absent; a document needs a non-empty file with a filename.
"""
import hashlib
import json
import time

from . import multipart
from .catalog import stable_id
from .replies import Reject, err, ok
from .state import iso, new_id

ACTIONS = ("agent_create", "agent_get", "agent_update", "agent_list",
           "doc_create", "doc_update", "doc_get", "doc_list")
FORBIDDEN = "You are not allowed to perform this action"
DEFAULT_LLM = {
    "id": stable_id("llm_", "theta_sim chatbot llm", 20),
    "name": "Llama 3.1 70B Instruct",
    "model": "meta-llama/Llama-3.1-70B-Instruct",
    "context_window": 8192,
}
MAX_TOKENS_LIMIT = 32768
NAME_LIMIT = 100
DEFAULTS = {"max_tokens": 2000, "temperature": 0.5, "system_prompt": "",
            "warm_up_messages": [], "settings": {}}
FIELDS = ("name", "max_tokens", "temperature", "system_prompt",
          "warm_up_messages", "llm_endpoint_id", "settings")


def parse(method, parts):
    """(action, args) of a ``/chatbot...`` path, action None if unknown."""
    rest = parts[1:]
    n = len(rest)
    if n == 0 and method == "POST":
        return "agent_create", ()
    if rest == ["list"] and method == "GET":
        return "agent_list", ()
    if n == 1 and method in ("GET", "PUT"):
        return ("agent_get" if method == "GET" else "agent_update"), \
            (rest[0],)
    if n >= 2 and rest[1] == "document":
        if n == 2 and method == "POST":
            return "doc_create", (rest[0],)
        if n == 3 and rest[2] == "list" and method == "GET":
            return "doc_list", (rest[0],)
        if n == 3 and method in ("GET", "PUT"):
            return ("doc_get" if method == "GET" else "doc_update"), \
                (rest[0], rest[2])
    return None, ()


def bad(status, message):
    return Reject(err(status, message))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_fields(body, creating):
    """The known fields of a create/update body, validated; raise a
    400 Reject for the first bad one."""
    got = {k: body[k] for k in FIELDS if body.get(k) is not None}
    if creating and "name" not in got:
        raise bad(400, "name is required")
    if "name" in got:
        v = got["name"]
        if not isinstance(v, str) or not v.strip():
            raise bad(400, "name must be a non-empty string")
        if len(v) > NAME_LIMIT:
            raise bad(400, "name must be at most %d characters"
                      % NAME_LIMIT)
    if "max_tokens" in got:
        v = got["max_tokens"]
        if not _is_int(v) or not 1 <= v <= MAX_TOKENS_LIMIT:
            raise bad(400, "max_tokens must be an integer from 1 to %d"
                      % MAX_TOKENS_LIMIT)
    if "temperature" in got:
        v = got["temperature"]
        if not _is_num(v) or not 0 <= v <= 2:
            raise bad(400, "temperature must be a number from 0 to 2")
    if "system_prompt" in got and not isinstance(got["system_prompt"],
                                                 str):
        raise bad(400, "system_prompt must be a string")
    if "warm_up_messages" in got:
        v = got["warm_up_messages"]
        if not isinstance(v, list) or not all(
                isinstance(m, (str, dict)) for m in v):
            raise bad(400, "warm_up_messages must be an array of strings "
                           "or objects")
    if "llm_endpoint_id" in got:
        v = got["llm_endpoint_id"]
        if not isinstance(v, str) or not v:
            raise bad(400, "llm_endpoint_id must be a non-empty string")
    if "settings" in got and not isinstance(got["settings"], dict):
        raise bad(400, "settings must be an object")
    return got


class Document:
    def __init__(self, chatbot, upload):
        self.id = new_id("doc_", 20)
        self.chatbot = chatbot
        self.created = time.time()
        self.put_count = 0
        self.replace(upload)

    def replace(self, upload):
        self.filename = upload["filename"]
        self.content_type = upload["content_type"]
        self.data = upload["data"]
        self.metadata = upload["metadata"]
        self.unknown_parts = upload["unknown_parts"]
        self.updated = time.time()
        self.put_count += 1

    def tokens(self):
        return (len(self.data) + 3) // 4

    def item(self):
        return {"id": self.id,
                "knowledge_base_id": self.chatbot.knowledge_base_id,
                "metadata": self.metadata, "created_at": iso(self.created),
                "embedding_token_count": self.tokens()}

    def full(self):
        return {"id": self.id, "content": self.data.decode("utf-8",
                                                           "replace"),
                "metadata": self.metadata}

    def control_view(self):
        out = self.item()
        out.update(filename=self.filename, content_type=self.content_type,
                   size=len(self.data),
                   sha256=hashlib.sha256(self.data).hexdigest(),
                   updated_at=iso(self.updated), put_count=self.put_count,
                   unknown_parts=self.unknown_parts)
        return out


class Chatbot:
    def __init__(self, project_id, fields, unknown):
        self.id = new_id("chatbot_", 20)
        self.project_id = project_id
        self.knowledge_base_id = new_id("kb_", 20)
        self.created = time.time()
        self.values = dict(DEFAULTS)
        self.llm_endpoint_id = DEFAULT_LLM["id"]
        self.documents = {}         # doc id -> Document, in upload order
        self.unknown_keys = []
        self.update_count = 0
        self.apply(fields, unknown)
        self.update_count = 0

    def apply(self, fields, unknown):
        for k, v in fields.items():
            if k == "llm_endpoint_id":
                self.llm_endpoint_id = v
            else:
                self.values[k] = v
        for k in unknown:
            if k not in self.unknown_keys:
                self.unknown_keys.append(k)
        self.update_count += 1

    def to_json(self):
        known = self.llm_endpoint_id == DEFAULT_LLM["id"]
        name = DEFAULT_LLM["name"] if known else "custom endpoint"
        return {
            "id": self.id, "name": self.values["name"],
            "project_id": self.project_id,
            "llm_endpoint": self.llm_endpoint_id,
            "knowledge_base_id": self.knowledge_base_id,
            "created_at": iso(self.created),
            "model": DEFAULT_LLM["model"] if known else None,
            "max_tokens": self.values["max_tokens"],
            "temperature": self.values["temperature"],
            "system_prompt": self.values["system_prompt"],
            "context_window": DEFAULT_LLM["context_window"],
            "settings": self.values["settings"],
            "warm_up_messages": self.values["warm_up_messages"],
            "llm_endpoints": [{"id": self.llm_endpoint_id, "name": name,
                               "rank": 0}],
        }

    def control_view(self):
        out = self.to_json()
        out.update(unknown_keys=self.unknown_keys,
                   update_count=self.update_count,
                   documents=[d.control_view()
                              for d in self.documents.values()])
        return out


def _paging(req, default_number):
    out = []
    for name, default, low, high, msg in (
            ("page", 0, 0, None, "page must be an integer >= 0"),
            ("number", default_number, 1, 100,
             "number must be an integer from 1 to 100")):
        raw = req.q(name)
        if raw in (None, ""):
            out.append(default)
            continue
        try:
            val = int(raw)
        except ValueError:
            raise bad(400, msg)
        if val < low or (high is not None and val > high):
            raise bad(400, msg)
        out.append(val)
    return out


class Agents:
    def __init__(self, sim):
        self.sim = sim

    def handle(self, action, req, args):
        return getattr(self, action)(req, *args)

    # -- checks -----------------------------------------------------------
    def project(self, req, given=None, required=True):
        val = given if given not in (None, "") else req.q("project_id")
        if val in (None, ""):
            if not required:
                return
            raise bad(400, "project_id is required")
        if val != self.sim.project_id:
            raise bad(403, FORBIDDEN)

    def chatbot(self, cid):
        bot = self.sim.chatbots.get(cid)
        if bot is None or bot.project_id != self.sim.project_id:
            raise bad(404, "chatbot not found")
        return bot

    @staticmethod
    def document(bot, doc_id):
        doc = bot.documents.get(doc_id)
        if doc is None:
            raise bad(404, "document not found")
        return doc

    @staticmethod
    def json_object(req):
        if not req.body.strip():
            raise bad(400, "request body must be a JSON object")
        try:
            body = json.loads(req.body)
        except ValueError:
            raise bad(400, "invalid JSON body")
        if not isinstance(body, dict):
            raise bad(400, "request body must be a JSON object")
        return body

    @staticmethod
    def form(req):
        """{name: [Part, ...]} of a multipart body, or a 400."""
        try:
            parts = multipart.parse(req.hdr.get("content-type"), req.body)
        except multipart.MultipartError as e:
            raise bad(400, str(e))
        out = {}
        for p in parts:
            out.setdefault(p.name, []).append(p)
        return out

    @staticmethod
    def form_text(form, name):
        parts = form.get(name)
        if not parts:
            return None
        if len(parts) > 1:
            raise bad(400, "%s given more than once" % name)
        return parts[0].text()

    def upload(self, form):
        """The document fields of a form (after the 404 checks)."""
        files = form.get("file") or []
        if not files:
            raise bad(400, "file is required (a multipart part named "
                           "\"file\")")
        if len(files) > 1:
            raise bad(400, "exactly one file part is allowed")
        f = files[0]
        if not f.filename:
            raise bad(400, "the file part needs a filename")
        if not f.data:
            raise bad(400, "file is empty")
        raw = self.form_text(form, "metadata")
        metadata = {}
        if raw is not None and raw.strip():
            try:
                metadata = json.loads(raw)
            except ValueError:
                raise bad(400, "metadata must be a JSON object (sent as a "
                               "string): invalid JSON")
            if not isinstance(metadata, dict):
                raise bad(400, "metadata must be a JSON object (sent as a "
                               "string)")
        unknown = sorted(set(form) - {"file", "metadata", "project_id"})
        return {"filename": f.filename, "content_type": f.content_type,
                "data": f.data, "metadata": metadata,
                "unknown_parts": unknown}

    # -- chatbots ---------------------------------------------------------
    def agent_create(self, req):
        body = self.json_object(req)
        self.project(req, body.get("project_id"))
        fields = check_fields(body, creating=True)
        unknown = sorted(set(body) - set(FIELDS) - {"project_id"})
        bot = Chatbot(self.sim.project_id, fields, unknown)
        self.sim.chatbots[bot.id] = bot
        return ok(bot.to_json())

    def agent_get(self, req, cid):
        self.project(req)
        return ok(self.chatbot(cid).to_json())

    def agent_update(self, req, cid):
        body = self.json_object(req)
        self.project(req, body.get("project_id"))
        bot = self.chatbot(cid)
        fields = check_fields(body, creating=False)
        bot.apply(fields, sorted(set(body) - set(FIELDS) - {"project_id"}))
        return ok(bot.to_json())

    def agent_list(self, req):
        self.project(req)
        page, number = _paging(req, 100)
        bots = [b for b in self.sim.chatbots.values()
                if b.project_id == self.sim.project_id]
        chosen = bots[page * number:(page + 1) * number]
        return ok({"chatbots": [b.to_json() for b in chosen],
                   "total": len(bots)})

    # -- documents --------------------------------------------------------
    def doc_create(self, req, cid):
        form = self.form(req)
        self.project(req, self.form_text(form, "project_id"))
        bot = self.chatbot(cid)
        doc = Document(bot, self.upload(form))
        bot.documents[doc.id] = doc
        return ok({"id": doc.id})

    def doc_update(self, req, cid, doc_id):
        form = self.form(req)
        self.project(req, self.form_text(form, "project_id"))
        doc = self.document(self.chatbot(cid), doc_id)
        doc.replace(self.upload(form))
        return ok({"id": doc.id})

    def doc_get(self, req, cid, doc_id):
        self.project(req, required=False)
        return ok(self.document(self.chatbot(cid), doc_id).full())

    def doc_list(self, req, cid):
        self.project(req)
        bot = self.chatbot(cid)
        page, number = _paging(req, 30)
        docs = list(bot.documents.values())
        chosen = docs[page * number:(page + 1) * number]
        return ok({"documents": [d.item() for d in chosen],
                   "total_documents": len(docs),
                   "total_pages": -(-len(docs) // number)})


def control_view(sim):
    return {"chatbots": [b.control_view() for b in sim.chatbots.values()]}
