"""Tests of the simulator's AI agents (RAG chatbots) on the controller.

Reference section 4: chatbot create, get, partial update and list,
documents as multipart/form-data uploads, their get and list; the key,
project scope and Cloudflare rule of the controller host; the gateway
faults by route name; GET /__sim__/chatbots.

    /usr/bin/python3 -m pytest tests/servers/theta_sim_agents_test.py -q
"""
import hashlib
import json
import re
import time

import pytest

from tests.servers import harness
from tests.servers.theta_sim_client import CTL, Client

FORBIDDEN = {"status": "error",
             "message": "You are not allowed to perform this action"}
NO_BOT = {"status": "error", "message": "chatbot not found"}
NO_DOC = {"status": "error", "message": "document not found"}
BOT_KEYS = {"id", "name", "project_id", "llm_endpoint", "knowledge_base_id",
            "created_at", "model", "max_tokens", "temperature",
            "system_prompt", "context_window", "settings",
            "warm_up_messages", "llm_endpoints"}
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
SQL_META = {"type": "file", "filename": "sales.csv", "query_type": "sql",
            "sql_schema": {"table_name": "sales", "columns": [
                {"name": "region", "type": "text"},
                {"name": "amount", "type": "numeric"}]},
            "sql_description": "Monthly sales by region"}


@pytest.fixture(scope="module")
def sim():
    with harness.start("theta_sim", env={"THETA_SIM_LOG": "quiet"}) as s:
        yield Client(s)


@pytest.fixture(autouse=True)
def clean(sim):
    sim.ctl("POST", "reset")
    yield


def bot_body(sim, **fields):
    body = {"name": "Beach rentals helper", "project_id": sim.project,
            "max_tokens": 2000, "temperature": 0.5,
            "system_prompt": "You answer questions about our listings.",
            "warm_up_messages": [],
            "settings": {"retriever.type": "rerank",
                         "agent.tools": {"web_search": False,
                                         "text_to_sql": True}}}
    body.update(fields)
    return body


def create(sim, **fields):
    st, data = sim.j("POST", "/chatbot", bot_body(sim, **fields))
    assert st == 200 and data["status"] == "success", data
    return data["body"]


def upload(sim, bot_id, data=b"Villa Azur: 4 bedrooms, pool.",
           filename="listing.txt", ctype="text/plain", meta=None,
           project=True, doc_id=None, extra=()):
    fields = []
    if project:
        fields.append(("project_id",
                       sim.project if project is True else project))
    fields.append(("file", (filename, ctype, data)))
    if meta is not None:
        fields.append(("metadata", meta if isinstance(meta, str)
                       else json.dumps(meta)))
    fields += list(extra)
    path = "/chatbot/%s/document" % bot_id
    if doc_id:
        return sim.form("PUT", path + "/" + doc_id, fields)
    return sim.form("POST", path, fields)


def doc_ok(sim, bot_id, **kw):
    st, data = upload(sim, bot_id, **kw)
    assert st == 200 and data["status"] == "success", data
    assert set(data["body"]) == {"id"}
    return data["body"]["id"]


def control(sim):
    return sim.ctl("GET", "chatbots")["chatbots"]


# -- chatbots ------------------------------------------------------------
def test_create_and_get_a_chatbot(sim):
    bot = create(sim)
    assert set(bot) == BOT_KEYS
    assert re.fullmatch(r"chatbot_[0-9a-z]{20}", bot["id"])
    assert re.fullmatch(r"kb_[0-9a-z]{20}", bot["knowledge_base_id"])
    assert re.fullmatch(ISO, bot["created_at"])
    assert bot["project_id"] == sim.project
    assert (bot["name"], bot["max_tokens"], bot["temperature"]) == (
        "Beach rentals helper", 2000, 0.5)
    assert bot["settings"]["agent.tools"]["text_to_sql"] is True
    assert bot["llm_endpoints"] == [{"id": bot["llm_endpoint"],
                                     "name": "Llama 3.1 70B Instruct",
                                     "rank": 0}]
    assert bot["context_window"] == 8192 and bot["model"]
    st, data = sim.j("GET", sim.q("/chatbot/" + bot["id"]))
    assert (st, data) == (200, {"status": "success", "body": bot})
    # defaults for what a create leaves out; a chosen LLM endpoint
    lean = create(sim, max_tokens=None, temperature=None,
                  system_prompt=None, settings=None,
                  llm_endpoint_id="llm_mine")
    assert (lean["max_tokens"], lean["temperature"], lean["settings"],
            lean["system_prompt"]) == (2000, 0.5, {}, "")
    assert lean["llm_endpoint"] == "llm_mine" and lean["model"] is None
    assert lean["id"] != bot["id"]


def test_key_project_and_cloudflare_rules(sim):
    bot = create(sim)
    path = sim.q("/chatbot/" + bot["id"])
    for key in (None, "tsk_wrong"):
        st, data = sim.j("GET", path, key=key)
        assert (st, data["message"]) == (401, "invalid or missing "
                                          "x-api-key")
    st, _, page = sim.call("GET", path, ua="curl/8.5.0")
    assert st == 403 and b"Error 1010" in page
    assert sim.j("GET", "/chatbot/" + bot["id"]) == (
        400, {"status": "error", "message": "project_id is required"})
    other = "prj_" + "0" * 28
    assert sim.j("GET", sim.q("/chatbot/" + bot["id"],
                              project_id=other)) == (403, FORBIDDEN)
    assert sim.j("POST", "/chatbot", bot_body(sim, project_id=other)) == (
        403, FORBIDDEN)
    st, data = sim.j("POST", "/chatbot", bot_body(sim, project_id=None))
    assert (st, data["message"]) == (400, "project_id is required")
    # a create with the project in the query only is fine too
    body = bot_body(sim)
    del body["project_id"]
    st, data = sim.j("POST", sim.q("/chatbot"), body)
    assert st == 200, data
    assert sim.j("GET", sim.q("/chatbot/chatbot_nope")) == (404, NO_BOT)
    assert sim.j("GET", sim.q("/chatbot/list",
                              project_id=other)) == (403, FORBIDDEN)
    for meth, path in (("DELETE", "/chatbot/" + bot["id"]),
                       ("POST", "/chatbot/" + bot["id"]),
                       ("GET", "/chatbot/a/b/c/d")):
        assert sim.j(meth, sim.q(path))[0] == 404


BAD_FIELDS = [
    ({"name": None}, "name is required"),
    ({"name": ""}, "name must be a non-empty string"),
    ({"name": "   "}, "name must be a non-empty string"),
    ({"name": 7}, "name must be a non-empty string"),
    ({"name": "x" * 101}, "name must be at most 100 characters"),
    ({"max_tokens": 0}, "max_tokens must be an integer from 1 to 32768"),
    ({"max_tokens": 40000},
     "max_tokens must be an integer from 1 to 32768"),
    ({"max_tokens": "2000"},
     "max_tokens must be an integer from 1 to 32768"),
    ({"max_tokens": True},
     "max_tokens must be an integer from 1 to 32768"),
    ({"max_tokens": 2.5}, "max_tokens must be an integer from 1 to 32768"),
    ({"temperature": -0.1}, "temperature must be a number from 0 to 2"),
    ({"temperature": 2.5}, "temperature must be a number from 0 to 2"),
    ({"temperature": "0.5"}, "temperature must be a number from 0 to 2"),
    ({"system_prompt": ["x"]}, "system_prompt must be a string"),
    ({"warm_up_messages": "hi"},
     "warm_up_messages must be an array of strings or objects"),
    ({"warm_up_messages": [1]},
     "warm_up_messages must be an array of strings or objects"),
    ({"llm_endpoint_id": ""}, "llm_endpoint_id must be a non-empty string"),
    ({"settings": []}, "settings must be an object"),
]


@pytest.mark.parametrize("fields,message", BAD_FIELDS)
def test_create_field_validation(sim, fields, message):
    st, data = sim.j("POST", "/chatbot", bot_body(sim, **fields))
    assert (st, data) == (400, {"status": "error", "message": message})


def test_bad_bodies_and_nothing_created(sim):
    for raw in (b"", b"{", b"[1]", b'"x"'):
        st, _, data = sim.call("POST", "/chatbot", raw_body=raw,
                               headers={"Content-Type":
                                        "application/json"})
        assert st == 400, raw
        assert json.loads(data)["message"] in (
            "invalid JSON body", "request body must be a JSON object")
    sim.j("POST", "/chatbot", bot_body(sim, temperature=9))
    assert control(sim) == []


def test_partial_update(sim):
    bot = create(sim)
    st, data = sim.j("PUT", "/chatbot/" + bot["id"], {
        "project_id": sim.project,
        "warm_up_messages": ["Which villas have a pool?",
                             {"role": "assistant", "content": "Hi!"}]})
    assert st == 200, data
    new = data["body"]
    assert new["warm_up_messages"][0] == "Which villas have a pool?"
    same = {k: v for k, v in new.items() if k != "warm_up_messages"}
    assert same == {k: v for k, v in bot.items()
                    if k != "warm_up_messages"}
    # project in the query; several fields; a stray key ignored
    st, data = sim.j("PUT", sim.q("/chatbot/" + bot["id"]), {
        "temperature": 0, "name": "Renamed", "colour": "blue"})
    assert st == 200 and data["body"]["temperature"] == 0
    assert data["body"]["name"] == "Renamed"
    got = sim.j("GET", sim.q("/chatbot/" + bot["id"]))[1]["body"]
    assert got == data["body"] and "colour" not in got
    row = control(sim)[0]
    assert row["unknown_keys"] == ["colour"] and row["update_count"] == 2
    # errors: validation, project, unknown bot, body
    st, data = sim.j("PUT", sim.q("/chatbot/" + bot["id"]),
                     {"max_tokens": -5})
    assert (st, data["message"]) == (
        400, "max_tokens must be an integer from 1 to 32768")
    st, data = sim.j("PUT", "/chatbot/" + bot["id"], {"name": "x"})
    assert (st, data["message"]) == (400, "project_id is required")
    assert sim.j("PUT", sim.q("/chatbot/" + bot["id"],
                              project_id="prj_other"),
                 {"name": "x"}) == (403, FORBIDDEN)
    assert sim.j("PUT", sim.q("/chatbot/chatbot_missing"),
                 {"name": "x"}) == (404, NO_BOT)
    # {"name": null} in an update leaves the name alone
    st, data = sim.j("PUT", sim.q("/chatbot/" + bot["id"]),
                     {"name": None})
    assert st == 200 and data["body"]["name"] == "Renamed"


def test_list_shape_and_paging(sim):
    ids = [create(sim, name="bot %d" % i)["id"] for i in range(5)]
    st, data = sim.j("GET", sim.q("/chatbot/list", page=0, number=100))
    assert st == 200 and data["status"] == "success"
    assert set(data["body"]) == {"chatbots", "total"}
    assert data["body"]["total"] == 5
    assert [b["id"] for b in data["body"]["chatbots"]] == ids
    assert set(data["body"]["chatbots"][0]) == BOT_KEYS
    # defaults: page 0, 100 a page
    assert sim.j("GET", sim.q("/chatbot/list"))[1] == data
    pages = [sim.j("GET", sim.q("/chatbot/list", page=p, number=2))[1]
             ["body"] for p in range(4)]
    assert [[b["id"] for b in p["chatbots"]] for p in pages] == [
        ids[0:2], ids[2:4], ids[4:5], []]
    assert {p["total"] for p in pages} == {5}
    for page, number in (("-1", "2"), ("x", "2"), ("0", "0"),
                         ("0", "101")):
        assert sim.j("GET", sim.q("/chatbot/list", page=page,
                                  number=number))[0] == 400
    assert sim.j("GET", "/chatbot/list")[0] == 400


# -- documents -----------------------------------------------------------
def test_document_create_get_list(sim):
    bot = create(sim)
    d1 = doc_ok(sim, bot["id"], data=b"region,amount\nnorth,10\n",
                filename="sales.csv", ctype="text/csv", meta=SQL_META)
    assert re.fullmatch(r"doc_[0-9a-z]{20}", d1)
    text_meta = {"type": "file", "filename": "villa.txt",
                 "query_type": "text", "description": "Villa Azur"}
    d2 = doc_ok(sim, bot["id"], meta=text_meta, filename="villa.txt")
    st, data = sim.j("GET", sim.q("/chatbot/%s/document/%s"
                                  % (bot["id"], d1)))
    assert (st, data) == (200, {"status": "success", "body": {
        "id": d1, "content": "region,amount\nnorth,10\n",
        "metadata": SQL_META}})
    # the document get works without project_id too (reference 4)
    st, data = sim.j("GET", "/chatbot/%s/document/%s" % (bot["id"], d2))
    assert st == 200 and data["body"]["content"].startswith("Villa Azur")
    st, data = sim.j("GET", sim.q("/chatbot/%s/document/list" % bot["id"],
                                  page=0, number=30))
    assert st == 200 and data["status"] == "success"
    body = data["body"]
    assert set(body) == {"documents", "total_documents", "total_pages"}
    assert (body["total_documents"], body["total_pages"]) == (2, 1)
    first = body["documents"][0]
    assert set(first) == {"id", "knowledge_base_id", "metadata",
                          "created_at", "embedding_token_count"}
    assert first["id"] == d1 and first["metadata"] == SQL_META
    assert first["knowledge_base_id"] == bot["knowledge_base_id"]
    assert first["embedding_token_count"] == (23 + 3) // 4
    assert re.fullmatch(ISO, first["created_at"])
    assert body["documents"][1]["metadata"] == text_meta
    # paging: 30 a page by default
    for _ in range(3):
        doc_ok(sim, bot["id"])
    page = sim.j("GET", sim.q("/chatbot/%s/document/list" % bot["id"],
                              page=2, number=2))[1]["body"]
    assert (page["total_documents"], page["total_pages"]) == (5, 3)
    assert len(page["documents"]) == 1
    empty = create(sim)
    page = sim.j("GET", sim.q("/chatbot/%s/document/list"
                              % empty["id"]))[1]["body"]
    assert page == {"documents": [], "total_documents": 0,
                    "total_pages": 0}
    assert sim.j("GET", sim.q("/chatbot/%s/document/list" % bot["id"],
                              number=0))[0] == 400


def test_document_update_replaces_content_and_metadata(sim):
    bot = create(sim)
    d = doc_ok(sim, bot["id"], data=b"old text", meta={"v": 1})
    assert doc_ok(sim, bot["id"], doc_id=d, data=b"new text, longer",
                  filename="v2.md", ctype="text/markdown",
                  meta={"v": 2}) == d
    got = sim.j("GET", sim.q("/chatbot/%s/document/%s"
                             % (bot["id"], d)))[1]["body"]
    assert got == {"id": d, "content": "new text, longer",
                   "metadata": {"v": 2}}
    row = control(sim)[0]["documents"][0]
    assert (row["filename"], row["content_type"], row["put_count"],
            row["size"]) == ("v2.md", "text/markdown", 2, 16)
    # the reference's 404 for a missing document (clients then create)
    st, data = upload(sim, bot["id"], doc_id="doc_missing")
    assert (st, data) == (404, NO_DOC)
    st, data = upload(sim, "chatbot_missing", doc_id=d)
    assert (st, data) == (404, NO_BOT)
    assert len(control(sim)[0]["documents"]) == 1


def test_document_errors(sim):
    bot = create(sim)
    path = "/chatbot/%s/document" % bot["id"]

    def msg(result):
        st, data = result
        assert st == 400, data
        return data["message"]
    assert msg(sim.form("POST", path, [("project_id", sim.project),
                                       ("metadata", "{}")])).startswith(
        "file is required")
    assert msg(upload(sim, bot["id"], meta="{not json")).startswith(
        "metadata must be a JSON object")
    assert msg(upload(sim, bot["id"], meta="[1, 2]")).startswith(
        "metadata must be a JSON object")
    assert msg(upload(sim, bot["id"], data=b"")) == "file is empty"
    assert msg(upload(sim, bot["id"], filename="")) == \
        "the file part needs a filename"
    assert msg(upload(sim, bot["id"], extra=[
        ("file", ("b.txt", "text/plain", b"x"))])) == \
        "exactly one file part is allowed"
    assert msg(upload(sim, bot["id"], extra=[
        ("project_id", sim.project)])) == "project_id given more than once"
    # not multipart at all, or broken framing
    st, data = sim.j("POST", path, {"project_id": sim.project,
                                    "file": "x"})
    assert (st, data["message"]) == (
        400, "Content-Type must be multipart/form-data")
    for ctype, raw in (
            ("multipart/form-data", b"--x\r\n"),
            ("multipart/form-data; boundary=abc", b"no boundary here"),
            ("multipart/form-data; boundary=abc",
             b"--abc\r\nContent-Disposition: form-data; name=\"file\"; "
             b"filename=\"a\"\r\n\r\nunterminated")):
        st, _, data = sim.call("POST", path, raw_body=raw,
                               headers={"Content-Type": ctype})
        assert st == 400, raw
    # project: missing, other, in the query instead of the form
    st, data = upload(sim, bot["id"], project=False)
    assert (st, data["message"]) == (400, "project_id is required")
    assert upload(sim, bot["id"], project="prj_other") == (403, FORBIDDEN)
    st, data = sim.form("POST", sim.q(path), [
        ("file", ("q.txt", "text/plain", b"query project"))])
    assert st == 200, data
    assert upload(sim, "chatbot_missing") == (404, NO_BOT)
    base = "/chatbot/%s/document/" % bot["id"]
    assert sim.j("GET", sim.q(base + "doc_missing")) == (404, NO_DOC)
    assert sim.j("GET", sim.q(base + data["body"]["id"],
                              project_id="prj_other")) == (403, FORBIDDEN)
    assert sim.j("GET", sim.q("/chatbot/chatbot_x/document/list")) == (
        404, NO_BOT)
    # only the one good upload is there
    assert [d["filename"] for d in control(sim)[0]["documents"]] == [
        "q.txt"]


def test_one_megabyte_non_ascii_file_part(sim):
    bot = create(sim)
    # "\r\n--boundary-like-not" looks like a delimiter but is none
    line = ("Ünïcödé ☕ naïve café — 日本語のテキスト 😀\r\n"
            "--boundary-like-not\r\n\r\n").encode()
    data = (line * (1048576 // len(line) + 1))[:1048576]
    # cut in the middle of a character on purpose: bytes, not text
    assert len(data) == 1048576
    meta = {"type": "file", "filename": "grand café.txt",
            "description": "Ünïcödé ☕"}
    fields = [("project_id", sim.project),
              ("metadata", json.dumps(meta, ensure_ascii=False)),
              ("file", ("grand café.txt", "text/plain; charset=utf-8",
                        data))]
    st, got = sim.form("POST", "/chatbot/%s/document" % bot["id"], fields,
                       boundary="boundary-like", timeout=30)
    assert st == 200, got
    doc = got["body"]["id"]
    row = control(sim)[0]["documents"][0]
    assert row["size"] == 1048576
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["filename"] == "grand café.txt"
    assert row["content_type"] == "text/plain"
    assert row["metadata"] == meta
    assert row["embedding_token_count"] == 1048576 // 4
    st, back = sim.j("GET", sim.q("/chatbot/%s/document/%s"
                                  % (bot["id"], doc)), timeout=30)
    assert st == 200
    assert back["body"]["content"] == data.decode("utf-8", "replace")
    assert back["body"]["metadata"] == meta


def test_chunked_upload_and_rfc2231_filename(sim):
    bot = create(sim)
    boundary = "b0undary"
    body = ("--%s\r\nContent-Disposition: form-data; name=\"project_id\""
            "\r\n\r\n%s\r\n--%s\r\nContent-Disposition: form-data; "
            "name=\"file\"; filename*=UTF-8''r%%C3%%A9sum%%C3%%A9.txt\r\n"
            "Content-Type: text/plain\r\n\r\nCV\r\n--%s--\r\n"
            % (boundary, sim.project, boundary, boundary)).encode()
    c = sim.conn(CTL)
    try:
        c.putrequest("POST", "/chatbot/%s/document" % bot["id"])
        for k, v in (("User-Agent", "Mozilla/5.0 test"),
                     ("x-api-key", sim.key),
                     ("Content-Type", "multipart/form-data; boundary="
                      + boundary),
                     ("Transfer-Encoding", "chunked")):
            c.putheader(k, v)
        c.endheaders()
        for i in range(0, len(body), 7):
            piece = body[i:i + 7]
            c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        assert r.status == 200, r.read()
        r.read()
    finally:
        c.close()
    row = control(sim)[0]["documents"][0]
    assert (row["filename"], row["size"]) == ("résumé.txt", 2)


# -- faults, log, control ------------------------------------------------
def test_faults_by_route_name_and_request_log(sim):
    bot = create(sim)
    sim.ctl("POST", "faults", {"http_error": {
        "status": 502, "routes": ["agent_create", "doc_create"],
        "count": 2}})
    st, data = sim.j("POST", "/chatbot", bot_body(sim))
    assert (st, data["message"]) == (502, "simulated upstream error")
    assert upload(sim, bot["id"])[0] == 502
    assert upload(sim, bot["id"])[0] == 200
    assert len(control(sim)) == 1
    sim.ctl("POST", "faults", {"latency": {
        "seconds": 0.4, "routes": ["doc_list"]}})
    t0 = time.monotonic()
    assert sim.j("GET", sim.q("/chatbot/%s/document/list"
                              % bot["id"]))[0] == 200
    assert time.monotonic() - t0 >= 0.4
    sim.ctl("POST", "faults", {"http_error": {
        "status": 500, "routes": ["agent_get", "agent_update",
                                  "agent_list", "doc_update", "doc_get"],
        "count": -1}})
    for meth, path in (("GET", "/chatbot/" + bot["id"]),
                       ("PUT", "/chatbot/" + bot["id"]),
                       ("GET", "/chatbot/list"),
                       ("GET", "/chatbot/x/document/doc_y")):
        assert sim.call(meth, sim.q(path))[0] == 500
    assert upload(sim, bot["id"], doc_id="doc_y")[0] == 500
    sim.ctl("DELETE", "faults")
    routes = [r["route"] for r in sim.ctl("GET", "requests?host=" + CTL)
              ["requests"]]
    assert routes == ["agent_create", "agent_create", "doc_create",
                      "doc_create", "doc_list", "agent_get",
                      "agent_update", "agent_list", "doc_get",
                      "doc_update"]
    st, data = sim.j("POST", "/__sim__/faults", {"http_error": {
        "routes": ["agent_nope"]}}, key=None, ua=None)
    assert st == 400


def test_control_view_and_reset(sim):
    bot = create(sim, favourite=True)
    d = doc_ok(sim, bot["id"], data=b"abc", meta={"k": "v"},
               extra=[("note", "ignored part")])
    rows = control(sim)
    assert len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in BOT_KEYS} == bot
    assert row["unknown_keys"] == ["favourite"]
    doc = row["documents"][0]
    assert doc["id"] == d and doc["unknown_parts"] == ["note"]
    assert doc["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert (doc["size"], doc["embedding_token_count"]) == (3, 1)
    sim.ctl("POST", "reset")
    assert control(sim) == []
    assert sim.j("GET", sim.q("/chatbot/" + bot["id"])) == (404, NO_BOT)
