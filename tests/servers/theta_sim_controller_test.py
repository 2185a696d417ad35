"""Tests of the simulator's controller, platform and dedicated hosts.

The simulator (tests/servers/theta_sim) is started through harness.py;
every call goes over real TLS to 127.0.0.1 with the production host name
as SNI and Host header, verified against the simulator's test CA.
Warm-up phases are shortened so the file runs in seconds.

    /usr/bin/python3 -m pytest tests/servers/theta_sim_controller_test.py -q
"""
import base64
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

from tests.servers import harness

CTL = "controller.thetaedgecloud.com"
API = "api.thetaedgecloud.com"
OD = "ondemand.thetaedgecloud.com"
CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
          "like Gecko) Chrome/131.0.0.0 Safari/537.36")
DINO = "img_qqu31asazaig666jtzp7gjd4pway"
DEEPSEEK = "img_gf070dbq0kttgz1atmiatyunhdxm"
GLM = "img_hizq6ddeft6c6ep6qmd347xe4mr8"
DEEPSEEK_MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
PHASE = 0.25
TEST_CONFIG = {
    "first_byte_delay": 0.02, "token_interval": 0.001,
    "warmup": {"openai": [[404, PHASE], [503, PHASE], [401, PHASE]],
               "gradio": [[404, PHASE], [502, PHASE]],
               "html": [[404, PHASE]]},
}
FORBIDDEN = {"status": "error",
             "message": "You are not allowed to perform this action"}
NOT_FOUND = {"status": "error", "message": "Not Found"}
NO_DEPLOYMENT = {"status": "error", "message": "deployment not found"}
DONE = {"status": "success", "body": {"value": 0}}
ITEM_KEYS = {"Name", "ProjectID", "TemplateName", "DeploymentImageID",
             "ImageURL", "MachineType", "Replicas", "Annotations",
             "Endpoint", "EndpointStatus", "AuthUsername", "AuthPassword",
             "BaseID", "Shard", "Suffix", "Region", "CreateTime"}
TEMPLATE_KEYS = {"id", "name", "description", "tags", "category",
                 "project_id", "container_images", "container_port",
                 "container_args", "env_vars", "require_env_vars", "rank",
                 "icon_url", "create_time"}


class MappedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a production name, connected to 127.0.0.1:port."""

    def __init__(self, name, port, ctx, timeout):
        super().__init__(name, 443, context=ctx, timeout=timeout)
        self._target = ("127.0.0.1", port)

    def connect(self):
        sock = socket.create_connection(self._target, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def basic(user, password):
    pair = ("%s:%s" % (user, password)).encode()
    return "Basic " + base64.b64encode(pair).decode()


class Client:
    def __init__(self, server):
        self.server = server
        self.port = int(server.url.rsplit(":", 1)[1])
        self.key = server.info["api_key"]
        self.project = server.info["project"]
        self.org = server.info["org"]
        self.ctx = ssl.create_default_context(cafile=server.info["ca"])

    def conn(self, host=CTL, timeout=10):
        return MappedHTTPS(host, self.port, self.ctx, timeout)

    def call(self, method, path, body=None, host=CTL, key=True, ua=CHROME,
             auth=None, headers=None, raw_body=None, timeout=10):
        """(status, lower-case headers, body bytes).  ``key``: True sends
        the API key, a string sends that, None nothing."""
        hdrs = {"Accept": "application/json, text/plain, */*"}
        if ua:
            hdrs["User-Agent"] = ua
        if key:
            hdrs["x-api-key"] = self.key if key is True else key
        if auth:
            hdrs["Authorization"] = auth
        if body is not None:
            raw_body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        c = self.conn(host, timeout)
        try:
            c.request(method, path, body=raw_body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def j(self, method, path, body=None, **kw):
        status, hdrs, data = self.call(method, path, body, **kw)
        return status, json.loads(data)

    def ctl(self, method, path, body=None):
        status, data = self.j(method, "/__sim__/" + path, body, key=None,
                              ua=None)
        assert status == 200, data
        return data

    def q(self, path, **params):
        """``path`` with the project id and more query parameters."""
        params.setdefault("project_id", self.project)
        pairs = []
        for k, v in params.items():
            for one in v if isinstance(v, list) else [v]:
                pairs.append("%s=%s" % (k, one.replace(" ", "%20")))
        return path + "?" + "&".join(pairs)

    def create(self, template=DINO, **fields):
        body = {"project_id": self.project,
                "deployment_template_id": template, "vm_id": "vm_gt1"}
        body.update(fields)
        st, data = self.j("POST", "/deployment", body)
        assert st == 200 and data["status"] == "success", data
        return data["body"]

    def listed(self, path="/deployment/list", **params):
        st, data = self.j("GET", self.q(path, **params))
        assert st == 200 and data["status"] == "success", data
        assert isinstance(data["body"], list)
        return data["body"]

    def deployments(self):
        return self.ctl("GET", "deployments")["deployments"]

    def balance(self):
        st, data = self.j("GET", "/balance?orgID=" + self.org, host=API)
        assert st == 200, data
        return data["body"]["balances"][0]["balance"]


def host_of(item):
    return item["Endpoint"][len("https://"):]


def handle(item):
    return "%d/%s" % (item["Shard"], item["Suffix"])


def statuses(sim, host, path, auth=None, until=200, limit=5.0):
    """Distinct statuses of ``GET path`` polled on one connection, in
    the order seen, until ``until`` comes."""
    seen = []
    hdrs = {"Authorization": auth} if auth else {}
    c = sim.conn(host)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            c.request("GET", path, headers=hdrs)
            r = c.getresponse()
            r.read()
            if not seen or seen[-1] != r.status:
                seen.append(r.status)
            if r.status == until:
                return seen
            time.sleep(0.01)
    finally:
        c.close()
    raise AssertionError("never %s: %s" % (until, seen))


@pytest.fixture(scope="module")
def sim():
    with harness.start("theta_sim", env={
            "THETA_SIM_CONFIG": json.dumps(TEST_CONFIG),
            "THETA_SIM_LOG": "quiet"}) as server:
        yield Client(server)


@pytest.fixture(autouse=True)
def clean(request):
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").ctl("POST", "reset")
    yield


def instant(sim):
    """Endpoints ready at once."""
    sim.ctl("POST", "config", {"warmup_override": []})


# -- identity and the Cloudflare check ----------------------------------------
def test_ready_line_has_key_project_and_org(sim):
    info = sim.server.info
    assert {"ca", "token", "api_key", "project", "org"} <= set(info)
    assert info["api_key"].startswith("tsk_") and len(info["api_key"]) > 30
    assert re.fullmatch(r"prj_[0-9a-z]{28}", info["project"])
    assert re.fullmatch(r"org_[0-9a-z]{28}", info["org"])
    assert info["api_key"] != info["token"]


def test_cloudflare_1010_for_non_browser_agents(sim):
    for ua in (None, "curl/8.5.0", "Python-urllib/3.11", "clawhost/0.2"):
        for host, path in ((CTL, sim.q("/deployment/list")),
                           (API, "/resource/vm/list")):
            st, hdrs, raw = sim.call("GET", path, host=host, ua=ua,
                                     key=None)
            assert st == 403, (ua, host)
            assert hdrs["content-type"].startswith("text/html")
            assert b"Error 1010" in raw and b"Access denied" in raw
    # a browser agent passes; then auth decides
    assert sim.call("GET", sim.q("/deployment/list"), key=None)[0] == 401
    assert sim.call("GET", sim.q("/deployment/list"))[0] == 200
    assert sim.call("GET", "/resource/vm/list", host=API)[0] == 200
    # control routes and the other hosts are exempt
    st, data = sim.j("GET", "/__sim__/health", ua=None, key=None)
    assert (st, data) == (200, {"ok": True})
    assert sim.call("GET", "/service/list", host=OD, ua=None,
                    key=None)[0] == 200
    sim.ctl("POST", "config", {"cloudflare_1010": False})
    assert sim.call("GET", sim.q("/deployment/list"),
                    ua="curl/8.5.0")[0] == 200
    rows = sim.ctl("GET", "requests?host=" + CTL)["requests"]
    assert rows[0]["status"] == 403 and rows[0]["route"] == "ctl_list"


# -- controller: auth, project, routes ----------------------------------------
def test_api_key_and_project_scope(sim):
    path = sim.q("/deployment/list")
    for key in (None, "tsk_wrong", sim.key + "x"):
        st, data = sim.j("GET", path, key=key)
        assert (st, data) == (401, {"status": "error", "message":
                                    "invalid or missing x-api-key"}), key
    # the on-demand token is not a controller key
    assert sim.j("GET", path, key=sim.server.info["token"])[0] == 401
    st, data = sim.j("GET", "/deployment/list")
    assert (st, data) == (400, {"status": "error",
                                "message": "project_id is required"})
    other = "prj_" + "0" * 28
    st, data = sim.j("GET", sim.q("/deployment/list", project_id=other))
    assert (st, data) == (403, FORBIDDEN)
    st, data = sim.j("POST", "/deployment", {
        "project_id": other, "deployment_template_id": DINO,
        "vm_id": "vm_gt1"})
    assert (st, data) == (403, FORBIDDEN)
    for path in ("/deployment/3/abcdefghij/stop",
                 "/deployments/3/abcdefghij/start"):
        assert sim.j("PUT", sim.q(path, project_id=other))[1] == FORBIDDEN
    assert sim.j("DELETE", sim.q("/deployment/base/dpl_x",
                                 project_id=other))[0] == 403
    # create takes the project from the query as well
    st, data = sim.j("POST", sim.q("/deployment"), {
        "deployment_template_id": DINO, "vm_id": "vm_gt1"})
    assert st == 200 and data["body"]["ProjectID"] == sim.project
    rows = sim.ctl("GET", "requests?host=" + CTL)["requests"]
    assert [r["x_api_key_valid"] for r in rows[:4]] == \
        [None, False, False, False]
    assert rows[-1]["x_api_key_valid"] is True
    assert all(r["x_api_key_present"] for r in rows[1:])


def test_unknown_routes(sim):
    for method, path in (("GET", "/nothing"), ("GET", "/deployment"),
                         ("PUT", sim.q("/deployment/1/abc")),
                         ("POST", "/deployments"),
                         ("GET", sim.q("/deployment/1/abc/stop"))):
        st, data = sim.j(method, path)
        assert (st, data) == (404, NOT_FOUND), (method, path)
    assert sim.j("GET", "/project/x", host=API) == (404, NOT_FOUND)


def test_other_controller_routes(sim):
    st, data = sim.j("GET", sim.q("/cluster/list"))
    assert (st, data) == (200, {"status": "success",
                                "body": {"clusters": []}})
    st, data = sim.j("GET", "/volume/claim?projectId=%s&page=1&number=20"
                     % sim.project)
    assert (st, data["body"]) == (200, {"volumes": [], "total_count": 0})
    assert sim.j("GET", "/volume/claim?page=1")[0] == 400
    assert sim.j("GET", "/cluster/list")[0] == 400
    st, data = sim.j("GET", sim.q(
        "/deployment_template/list_custom_templates", page="0",
        number="10"))
    assert data["body"] == {"total_count": "0", "templates": [], "page": 0,
                            "number": 10}
    assert sim.j("GET", "/deployment_template/list_custom_templates")[
        0] == 400


# -- templates and VM types ---------------------------------------------------
def test_standard_templates_paging(sim):
    base = "/deployment_template/list_standard_templates"
    assert sim.j("GET", base + "?category=serving", key=None)[0] == 401
    st, data = sim.j("GET", base + "?category=serving&page=0&number=50")
    assert st == 200 and data["status"] == "success"
    first = data["body"]
    assert first["page"] == 0 and first["number"] == 50
    total = first["total_count"]
    assert isinstance(total, int) and total > 50
    assert len(first["templates"]) == 50
    st, data = sim.j("GET", base + "?category=serving&page=1&number=50")
    second = data["body"]["templates"]
    assert len(second) == total - 50
    everyone = first["templates"] + second
    ids = [t["id"] for t in everyone]
    assert len(set(ids)) == total
    assert all(re.fullmatch(r"img_[0-9a-z]{28}", i) for i in ids)
    assert all(set(t) == TEMPLATE_KEYS for t in everyone)
    assert all(t["category"] == "serving" and t["project_id"] is None
               for t in everyone)
    by_name = {t["name"]: t for t in everyone}
    dino = by_name["Grounding Dino"]
    assert dino["id"] == DINO and dino["container_port"] == 7860
    assert dino["container_images"] == ["thetalabsofficial/grounding-dino:1.3"]
    ds = by_name["DeepSeek R1 Distill-Qwen-7B"]
    assert ds["id"] == DEEPSEEK
    assert ds["container_images"] == ["thetalabsofficial/vllm-theta:latest"]
    assert DEEPSEEK_MODEL in ds["container_args"]
    assert by_name["GLM-5.2"]["id"] == GLM
    assert "meta-llama/Meta-Llama-3-8B-Instruct" in by_name[
        "Llama 3 8B Instruct"]["container_args"]
    # the same on every run: filler ids are derived from names
    st, again = sim.j("GET", base + "?category=serving&number=100")
    assert [t["id"] for t in again["body"]["templates"]] == ids
    st, data = sim.j("GET", base + "?category=prototyping&page=0&number=50")
    names = {t["name"] for t in data["body"]["templates"]}
    assert {"Jupyter Notebook", "GPU Node"} <= names
    st, data = sim.j("GET", base + "?category=serving&page=9&number=50")
    assert data["body"]["templates"] == [] and \
        data["body"]["total_count"] == total
    for query in ("number=0", "number=101", "number=x", "page=-1",
                  "category=video"):
        assert sim.j("GET", base + "?" + query)[0] == 400, query


def test_vm_list_is_public(sim):
    for key in (None, "wrong-key", True):
        st, data = sim.j("GET", "/resource/vm/list", host=API, key=key)
        assert st == 200 and data["status"] == "success"
    vms = {v["id"]: v for v in data["body"]["vms"]}
    assert set(vms) == {"vm_gt1", "vm_gt2", "vm_gv1", "vm_ga1",
                        "vm_gh200x1", "vm_c1"}
    assert vms["vm_gt1"] == {"id": "vm_gt1", "name": "G-T4_16GB-x1",
                             "gpu": "NVIDIA T4", "gpu_count": 1,
                             "vram_gb": 16, "price_hr_usd": 0.5}
    assert vms["vm_gt2"]["gpu_count"] == 2
    assert vms["vm_c1"]["gpu_count"] == 0
    assert vms["vm_gh200x1"]["price_hr_usd"] == 4.5


# -- create -------------------------------------------------------------------
def test_create_validation(sim):
    good = {"project_id": sim.project, "deployment_template_id": DINO,
            "vm_id": "vm_gt1"}

    def without(*keys):
        return {k: v for k, v in good.items() if k not in keys}
    cases = [
        (without("deployment_template_id"), 400,
         "deployment_template_id or container_image is required"),
        (dict(good, deployment_template_id="img_nope"), 404,
         "deployment template not found"),
        (without("vm_id"), 400, "vm_id is required"),
        (dict(good, vm_id="vm_x9"), 400, "unknown vm_id: vm_x9"),
        (dict(good, min_replicas=11), 400, None),
        (dict(good, max_replicas="1"), 400, None),
        (dict(good, min_replicas=2, max_replicas=1), 400, None),
        (dict(good, env_vars={"A": 1}), 400, None),
        (dict(good, annotations=["x"]), 400, None),
        (dict(good, auth_username="u"), 400, None),
        (dict(good, auth_username="u", auth_password="short"), 400, None),
        (without("project_id"), 400, "project_id is required"),
    ]
    for body, status, message in cases:
        st, data = sim.j("POST", "/deployment", body)
        assert st == status and data["status"] == "error", body
        if message:
            assert data["message"] == message
    for raw in (b"{nope", b"[1]", b""):
        st, data = sim.j("POST", "/deployment", raw_body=raw,
                         headers={"Content-Type": "application/json"})
        assert st == 400, raw
    assert sim.deployments() == []


def test_create_object_shape(sim):
    item = sim.create(DINO, auth_username="ci_user",
                      auth_password="s3cret-pass-1",
                      annotations={"tags": "[\"Vision\"]"})
    assert set(item) >= ITEM_KEYS
    assert re.fullmatch(r"grounding-dino-[0-9a-f]{4}", item["Name"])
    assert item["ProjectID"] == sim.project
    assert item["TemplateName"] == "Grounding Dino"
    assert item["DeploymentImageID"] == DINO
    assert item["ImageURL"] == "thetalabsofficial/grounding-dino:1.3"
    assert item["MachineType"] == "vm_gt1" and item["Replicas"] == 1
    assert item["Annotations"] == {"tags": "[\"Vision\"]"}
    assert item["AuthUsername"] == "ci_user"
    assert item["AuthPassword"] == "s3cret-pass-1"
    assert item["EndpointStatus"] == "Pending"
    assert re.fullmatch(r"dpl_[0-9a-z]{28}", item["BaseID"])
    assert isinstance(item["Shard"], int) and 1 <= item["Shard"] <= 40
    assert re.fullmatch(r"[a-z0-9]{10}", item["Suffix"])
    assert item["Region"] == "us-east"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        item["CreateTime"])
    assert re.fullmatch(
        r"https://groundingdino[a-z0-9]{6}-[0-9a-f]{16}\.tec-s%d\."
        r"onthetaedgecloud\.com" % item["Shard"], item["Endpoint"])
    # nickname wins; a custom image needs no template
    named = sim.create(DEEPSEEK, annotations={"nickname": "my-llm"})
    assert named["Name"] == "my-llm"
    custom = sim.create(None, container_image="example/app:2")
    assert custom["TemplateName"] == "Custom"
    assert custom["ImageURL"] == "example/app:2"
    assert custom["AuthUsername"] is None
    assert [i["BaseID"] for i in sim.listed()] == \
        [item["BaseID"], named["BaseID"], custom["BaseID"]]


def test_create_string_and_nested_shapes(sim):
    sim.ctl("POST", "config", {"create_shape": "string"})
    st, data = sim.j("POST", "/deployment", {
        "project_id": sim.project, "deployment_template_id": DINO,
        "vm_id": "vm_gt1"})
    assert st == 200 and isinstance(data["body"], str)
    url = re.search(r"https://\S+", data["body"]).group(0)
    assert data["body"].startswith("Deployment created: ")
    assert [i["Endpoint"] for i in sim.listed()] == [url]
    sim.ctl("POST", "config", {"create_shape": "nested"})
    st, data = sim.j("POST", "/deployment", {
        "project_id": sim.project, "deployment_template_id": DEEPSEEK,
        "vm_id": "vm_gt1", "auth_username": "nest_user",
        "auth_password": "nested-pass-9"})
    dep = data["body"]["deployment"]
    assert {"endpoint_url", "base_id", "shard", "suffix", "name",
            "auth_username", "auth_password"} <= set(dep)
    assert not any(k[0].isupper() for k in dep)
    listed = sim.listed()[1]
    assert dep["endpoint_url"] == listed["Endpoint"]
    assert (dep["base_id"], dep["shard"], dep["suffix"]) == \
        (listed["BaseID"], listed["Shard"], listed["Suffix"])
    assert dep["auth_password"] == "nested-pass-9"


# -- list ---------------------------------------------------------------------
def test_list_filters_and_both_route_families(sim):
    jup = sim.create(sim_template(sim, "prototyping", "Jupyter Notebook"))
    node = sim.create(sim_template(sim, "prototyping", "GPU Node"))
    dino = sim.create(DINO)
    for path in ("/deployment/list", "/deployments/list"):
        assert [i["Name"] for i in sim.listed(path)] == \
            [jup["Name"], node["Name"], dino["Name"]]
        got = sim.listed(path, template_name="Jupyter Notebook")
        assert [i["BaseID"] for i in got] == [jup["BaseID"]]
        got = sim.listed(path, not_template_name=["Jupyter Notebook",
                                                  "GPU Node"])
        assert [i["BaseID"] for i in got] == [dino["BaseID"]]
    assert all(set(i) >= ITEM_KEYS for i in sim.listed())


def sim_template(sim, category, name):
    st, data = sim.j("GET", "/deployment_template/list_standard_templates"
                     "?category=%s&number=100" % category)
    return next(t["id"] for t in data["body"]["templates"]
                if t["name"] == name)


def test_list_lag_after_delete(sim):
    sim.ctl("POST", "config", {"list_lag_seconds": 0.4})
    item = sim.create(DINO)
    assert sim.j("DELETE", sim.q("/deployment/" + handle(item))) == \
        (200, DONE)
    assert [i["BaseID"] for i in sim.listed()] == [item["BaseID"]]
    time.sleep(0.5)
    assert sim.listed() == []
    # the controller itself knows at once
    assert sim.j("DELETE", sim.q("/deployment/" + handle(item))) == \
        (404, NO_DEPLOYMENT)


# -- route families -----------------------------------------------------------
def test_plural_only_and_singular_only(sim):
    item = sim.create(DINO)
    h = handle(item)
    singular = [("GET", sim.q("/deployment/list")),
                ("PUT", sim.q("/deployment/%s/stop" % h)),
                ("PUT", sim.q("/deployment/%s/start" % h)),
                ("DELETE", sim.q("/deployment/%s" % h)),
                ("DELETE", sim.q("/deployment/base/" + item["BaseID"]))]
    plural = [(m, p.replace("/deployment/", "/deployments/"))
              for m, p in singular]
    for mode, off, on in (("plural", singular, plural),
                          ("singular", plural, singular)):
        for status, message in ((404, "Not Found"),
                                (405, "Method Not Allowed")):
            sim.ctl("POST", "config", {"deployment_routes": mode,
                                       "missing_route_status": status})
            for method, path in off:
                st, data = sim.j(method, path)
                assert (st, data) == (status, {"status": "error",
                                               "message": message}), path
            assert sim.listed(on[0][1].split("?")[0]) != []
            assert sim.j(*on[1])[1] == DONE             # stop
            assert sim.j(*on[2])[1] == DONE             # start
    # create is the same route in every mode
    for mode in ("plural", "singular", "both"):
        sim.ctl("POST", "config", {"deployment_routes": mode})
        sim.create(DINO)
    assert sim.j(*plural[4]) == (200, DONE)             # delete by base
    assert len([d for d in sim.deployments() if not d["deleted"]]) == 3


def test_lifecycle_verbs_and_bad_handles(sim):
    item = sim.create(DINO)
    h = handle(item)
    st, data = sim.j("POST", sim.q("/deployment/%s/stop" % h))
    assert (st, data) == (405, {"status": "error",
                                "message": "Method Not Allowed"})
    sim.ctl("POST", "config", {"lifecycle_post": True})
    assert sim.j("POST", sim.q("/deployment/%s/stop" % h)) == (200, DONE)
    assert sim.listed()[0]["EndpointStatus"] == "Stopped"
    assert sim.j("POST", sim.q("/deployments/%s/start" % h)) == (200, DONE)
    assert sim.listed()[0]["EndpointStatus"] == "Pending"
    st, data = sim.j("PUT", sim.q("/deployment/x1/%s/stop" % item["Suffix"]))
    assert st == 400 and "shard" in data["message"]
    assert sim.j("PUT", sim.q("/deployment/-1/%s/stop"
                              % item["Suffix"]))[0] == 400
    other = item["Shard"] % 40 + 1
    for path in ("/deployment/%d/%s/stop" % (other, item["Suffix"]),
                 "/deployment/%d/zzzzzzzzzz/start" % item["Shard"],
                 "/deployment/%d/zzzzzzzzzz" % item["Shard"],
                 "/deployment/base/dpl_unknown"):
        method = "DELETE" if not path.endswith(("stop", "start")) else "PUT"
        assert sim.j(method, sim.q(path)) == (404, NO_DEPLOYMENT), path


# -- dedicated endpoints ------------------------------------------------------
def test_openai_warmup_then_basic_auth(sim):
    item = sim.create(DEEPSEEK, auth_username="oc_user",
                      auth_password="pass-word-123")
    host = host_of(item)
    good = basic("oc_user", "pass-word-123")
    assert statuses(sim, host, "/v1/models", good) == [404, 503, 401, 200]
    assert sim.listed()[0]["EndpointStatus"] == "Running"
    st, hdrs, raw = sim.call("GET", "/v1/models", host=host, key=None,
                             auth=good)
    data = json.loads(raw)
    assert data["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in data["data"]] \
        == [(DEEPSEEK_MODEL, "model", "vllm")]
    assert isinstance(data["data"][0]["created"], int)
    for auth in (None, basic("oc_user", "wrong-pass-1"),
                 basic("other", "pass-word-123"), "Bearer nope",
                 "Basic !!!"):
        st, hdrs, raw = sim.call("GET", "/v1/models", host=host, key=None,
                                 auth=auth)
        assert st == 401, auth
        assert hdrs["www-authenticate"] == 'Basic realm="deployment"'
        assert json.loads(raw) == {"detail": "Unauthorized"}
    assert sim.call("GET", "/v1/models", host=host, key=None,
                    auth="Bearer pass-word-123")[0] == 200
    for path in ("/config", "/api/predict"):
        st, hdrs, raw = sim.call("GET", path, host=host, auth=good)
        assert (st, json.loads(raw)) == (404, {"detail": "Not Found"})
    views = sim.deployments()
    assert views[0]["endpoint_requests"]["/v1/models"] >= 10
    assert views[0]["state"] == "running"
    rows = sim.ctl("GET", "requests?route=ded_probe")["requests"]
    assert rows[-1]["auth_scheme"] == "Basic"
    assert {r["endpoint_auth_valid"] for r in rows} == {True, False, None}


def test_openai_chat_json_stream_and_errors(sim):
    instant(sim)
    item = sim.create(DEEPSEEK, auth_username="u_chat",
                      auth_password="chat-pass-77")
    host, auth = host_of(item), basic("u_chat", "chat-pass-77")
    msgs = [{"role": "user", "content": "Hello there from the test"}]
    st, data = sim.j("POST", "/v1/chat/completions",
                     {"model": DEEPSEEK_MODEL, "messages": msgs},
                     host=host, auth=auth)
    assert st == 200 and data["object"] == "chat.completion"
    content = data["choices"][0]["message"]["content"]
    assert content.startswith("Simulated %s answer to \u201cHello there "
                              "from the test\u201d" % DEEPSEEK_MODEL)
    assert data["usage"]["completion_tokens"] == 24
    assert data["model"] == DEEPSEEK_MODEL
    st, data = sim.j("POST", "/v1/chat/completions",
                     {"model": "default", "messages": msgs},
                     host=host, auth=auth)
    assert (st, data) == (404, {"error": {
        "message": "The model `default` does not exist.",
        "type": "NotFoundError", "code": 404}})
    st, data = sim.j("POST", "/v1/chat/completions",
                     {"model": DEEPSEEK_MODEL, "messages": []},
                     host=host, auth=auth)
    assert st == 400 and data["error"]["code"] == 400
    st, hdrs, raw = sim.call("POST", "/v1/chat/completions",
                             {"model": DEEPSEEK_MODEL, "messages": msgs,
                              "stream": True}, host=host, auth=auth)
    assert st == 200 and hdrs["content-type"].startswith(
        "text/event-stream")
    events = [line[6:] for line in raw.decode().split("\n")
              if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "")
                   for c in chunks if c["choices"])
    assert text == content
    assert chunks[-1]["usage"]["completion_tokens"] == 24
    assert sim.call("POST", "/v1/chat/completions", {"messages": msgs},
                    host=host)[0] == 401


def test_gradio_warmup_config_and_predict(sim):
    item = sim.create(DINO)
    host = host_of(item)
    assert statuses(sim, host, "/config") == [404, 502, 200]
    st, data = sim.j("GET", "/config", host=host, key=None)
    assert data["mode"] == "blocks" and data["version"]
    assert data["components"]
    assert data["dependencies"][0]["api_name"] == "predict"
    st, data = sim.j("POST", "/api/predict",
                     {"fn_index": 0, "data": ["cat . dog", 0.35]},
                     host=host)
    assert st == 200
    assert set(data) == {"data", "is_generating", "duration",
                         "average_duration"}
    assert "cat . dog" in data["data"][0] and data["is_generating"] is False
    for raw in (b"{nope", b"[]", b'{"fn_index": 0}',
                b'{"fn_index": 3, "data": []}'):
        st, hdrs, body = sim.call("POST", "/api/predict", host=host,
                                  raw_body=raw)
        assert st == 422, raw
    for path in ("/v1/models", "/v1/chat/completions"):
        st, data = sim.j("GET", path, host=host)
        assert (st, data) == (404, {"detail": "Not Found"})


def test_notebook_templates_answer_html(sim):
    for name in ("Jupyter Notebook", "GPU Node"):
        tid = sim_template(sim, "prototyping", name)
        host = host_of(sim.create(tid))
        assert statuses(sim, host, "/") == [404, 200]
        st, hdrs, raw = sim.call("GET", "/", host=host)
        assert st == 200 and hdrs["content-type"].startswith("text/html")
        assert sim.call("GET", "/v1/models", host=host)[0] == 404


def test_unknown_dedicated_host(sim):
    for host in ("nothing0000-0123456789abcdef.tec-s3.onthetaedgecloud.com",
                 "x1.onthetaedgecloud.com"):
        st, hdrs, raw = sim.call("GET", "/v1/models", host=host)
        assert (st, raw) == (404, b"404 page not found")
        assert hdrs["content-type"].startswith("text/plain")


def test_stop_start_delete_through_the_endpoint(sim):
    instant(sim)
    item = sim.create(DEEPSEEK)
    host, h = host_of(item), handle(item)
    assert sim.call("GET", "/v1/models", host=host)[0] == 200
    assert sim.j("PUT", sim.q("/deployments/%s/stop" % h)) == (200, DONE)
    assert sim.listed()[0]["EndpointStatus"] == "Stopped"
    assert sim.deployments()[0]["state"] == "stopped"
    assert sim.call("GET", "/v1/models", host=host)[0] == 503
    # stopping twice is fine, and starting runs the warm-up again
    assert sim.j("PUT", sim.q("/deployment/%s/stop" % h)) == (200, DONE)
    sim.ctl("POST", "config", {"warmup_override": [[503, 0.3]]})
    assert sim.j("PUT", sim.q("/deployment/%s/start" % h)) == (200, DONE)
    assert sim.listed()[0]["EndpointStatus"] == "Pending"
    assert statuses(sim, host, "/v1/models") == [503, 200]
    assert sim.listed()[0]["EndpointStatus"] == "Running"
    assert sim.j("DELETE", sim.q("/deployment/" + h)) == (200, DONE)
    st, hdrs, raw = sim.call("GET", "/v1/models", host=host)
    assert (st, raw) == (404, b"404 page not found")
    assert sim.listed() == []
    for method, path in (("PUT", "/deployment/%s/start" % h),
                         ("PUT", "/deployment/%s/stop" % h),
                         ("DELETE", "/deployment/" + h),
                         ("DELETE", "/deployment/base/" + item["BaseID"])):
        assert sim.j(method, sim.q(path)) == (404, NO_DEPLOYMENT)
    view = sim.deployments()[0]
    assert view["deleted"] is True and view["state"] == "deleted"
    assert view["deleted_at"] >= view["created_at"]
    assert view["endpoint_requests"]["/v1/models"] >= 4
    # delete by base id
    other = sim.create(DINO)
    assert sim.j("DELETE", sim.q("/deployments/base/" + other["BaseID"])) \
        == (200, DONE)
    assert all(d["deleted"] for d in sim.deployments())


# -- faults -------------------------------------------------------------------
def test_create_reply_lost_still_creates(sim):
    sim.ctl("POST", "faults", {"create_reply_lost": {}})
    with pytest.raises((ConnectionError, ssl.SSLError,
                        http.client.BadStatusLine)):
        sim.call("POST", "/deployment", {
            "project_id": sim.project, "deployment_template_id": DINO,
            "vm_id": "vm_gt1", "annotations": {"nickname": "lost-one"}})
    assert [i["Name"] for i in sim.listed()] == ["lost-one"]
    row = sim.ctl("GET", "requests?route=ctl_create")["requests"][0]
    assert row["reply_lost"] is True and row["status"] is None
    assert sim.ctl("GET", "faults")["faults"] == {}
    sim.create(DINO)
    sim.ctl("POST", "faults", {"create_reply_lost": {
        "when": "before_create", "how": "rst"}})
    with pytest.raises((ConnectionError, ssl.SSLError,
                        http.client.BadStatusLine)):
        sim.call("POST", "/deployment", {
            "project_id": sim.project, "deployment_template_id": DINO,
            "vm_id": "vm_gt1"})
    assert len(sim.listed()) == 2


def test_create_delete_and_lifecycle_errors(sim):
    sim.ctl("POST", "faults", {"create_error": {"message": "boom"}})
    st, data = sim.j("POST", "/deployment", {
        "project_id": sim.project, "deployment_template_id": DINO,
        "vm_id": "vm_gt1"})
    assert (st, data) == (500, {"status": "error", "message": "boom"})
    assert sim.deployments() == []
    item = sim.create(DINO)
    h = handle(item)
    sim.ctl("POST", "faults", {"delete_error": {"count": 2}})
    for path in ("/deployment/" + h, "/deployment/base/" + item["BaseID"]):
        st, data = sim.j("DELETE", sim.q(path))
        assert (st, data) == (500, {"status": "error", "message":
                                    "internal error (simulated)"})
    assert len(sim.listed()) == 1
    assert sim.j("DELETE", sim.q("/deployment/" + h)) == (200, DONE)
    assert sim.listed() == []
    item = sim.create(DINO)
    h = handle(item)
    sim.ctl("POST", "faults", {"lifecycle_error": {"status": 503}})
    assert sim.j("PUT", sim.q("/deployment/%s/stop" % h))[0] == 503
    assert sim.listed()[0]["EndpointStatus"] != "Stopped"
    assert sim.j("PUT", sim.q("/deployment/%s/stop" % h)) == (200, DONE)


def test_gateway_faults_target_controller_routes(sim):
    # without routes the old on-demand-only rule holds
    sim.ctl("POST", "faults", {"http_error": {"count": -1}})
    assert sim.call("GET", sim.q("/deployment/list"))[0] == 200
    assert sim.call("GET", "/service/list", host=OD)[0] == 503
    sim.ctl("POST", "faults", {"http_error": {
        "count": 1, "status": 502, "routes": ["ctl_list"]}})
    sim.create(DINO)
    assert sim.call("GET", sim.q("/deployments/list"))[0] == 502
    assert sim.call("GET", sim.q("/deployments/list"))[0] == 200
    sim.ctl("POST", "faults", {"truncate_json": {"routes":
                                                 ["ctl_templates"]}})
    st, hdrs, raw = sim.call(
        "GET", "/deployment_template/list_standard_templates")
    with pytest.raises(ValueError):
        json.loads(raw)
    sim.ctl("POST", "faults", {"latency": {"seconds": 1,
                                           "routes": ["balance"]}})
    with pytest.raises(socket.timeout):
        sim.call("GET", "/balance?orgID=" + sim.org, host=API, timeout=0.3)
    instant(sim)
    item = sim.create(DEEPSEEK)
    sim.ctl("POST", "faults", {"http_error": {
        "status": 503, "routes": ["ded_probe", "vm_list"],
        "count": 2}})
    assert sim.call("GET", "/v1/models", host=host_of(item))[0] == 503
    assert sim.call("GET", "/resource/vm/list", host=API)[0] == 503
    assert sim.call("GET", "/v1/models", host=host_of(item))[0] == 200


# -- balance ------------------------------------------------------------------
def test_balance_checks_and_spend(sim):
    path = "/balance?orgID=" + sim.org
    assert sim.j("GET", path, host=API, key=None)[0] == 401
    st, data = sim.j("GET", "/balance", host=API)
    assert (st, data["message"]) == (400, "orgID is required")
    st, data = sim.j("GET", "/balance?orgID=org_" + "1" * 28, host=API)
    assert (st, data) == (403, FORBIDDEN)
    st, data = sim.j("GET", path, host=API)
    assert data == {"status": "success", "body": {"balances": [{
        "org_id": sim.org, "balance": 1000.0, "currency": "USD"}]}}
    # H200 at $4.50/h, scaled x3600: $4.50 a second
    sim.ctl("POST", "config", {"billing_scale": 3600, "balance": 50})
    item = sim.create(DINO, vm_id="vm_gh200x1")
    time.sleep(0.3)
    b1 = sim.balance()
    assert 50 - 4.5 * 1.0 < b1 < 50 - 4.5 * 0.25
    assert b1 == round(b1, 6)
    h = handle(item)
    assert sim.j("PUT", sim.q("/deployment/%s/stop" % h))[1] == DONE
    b2 = sim.balance()
    time.sleep(0.2)
    assert sim.balance() == pytest.approx(b2, abs=1e-5)
    assert sim.j("PUT", sim.q("/deployment/%s/start" % h))[1] == DONE
    time.sleep(0.2)
    b3 = sim.balance()
    assert b3 < b2 - 4.5 * 0.15
    assert sim.j("DELETE", sim.q("/deployment/" + h))[1] == DONE
    b4 = sim.balance()
    time.sleep(0.2)
    assert sim.balance() == pytest.approx(b4, abs=1e-5)
    view = sim.deployments()[0]
    assert view["cost_usd"] == pytest.approx(50 - b4, abs=1e-4)


# -- control routes -----------------------------------------------------------
def test_injected_dashboard_deployment(sim):
    view = sim.ctl("POST", "deployments", {
        "template_id": DINO, "vm_id": "vm_gt1", "nickname": "dashboard-1",
        "auth_username": "human", "auth_password": "human-pass-42",
        "ready": True})
    assert view["Name"] == "dashboard-1" and view["source"] == "dashboard"
    assert view["AuthPassword"] == "[REDACTED]"
    assert view["state"] == "running" and view["deleted"] is False
    listed = sim.listed()
    assert [i["Name"] for i in listed] == ["dashboard-1"]
    assert listed[0]["AuthPassword"] == "human-pass-42"
    assert listed[0]["EndpointStatus"] == "Running"
    host = host_of(listed[0])
    assert sim.call("GET", "/config", host=host)[0] == 401
    assert sim.call("GET", "/config", host=host,
                    auth=basic("human", "human-pass-42"))[0] == 200
    # one in another project: not listed, not reachable with this key
    other = sim.ctl("POST", "deployments", {
        "template_id": DINO, "vm_id": "vm_gt1",
        "project_id": "prj_" + "9" * 28})
    assert len(sim.listed()) == 1
    assert sim.j("DELETE", sim.q("/deployment/base/" + other["BaseID"])) \
        == (404, NO_DEPLOYMENT)
    assert sim.j("PUT", sim.q("/deployment/%s/stop" % handle(other))) == \
        (404, NO_DEPLOYMENT)
    for body in ({"template_id": DINO}, {"vm_id": "vm_gt1"},
                 {"template_id": "img_x", "vm_id": "vm_gt1"},
                 {"template_id": DINO, "vm_id": "vm_gt1", "colour": 1}):
        st, data = sim.j("POST", "/__sim__/deployments", body, key=None)
        assert st == 400 and data["error"], body
    assert len(sim.deployments()) == 2


def test_request_log_hides_key_and_passwords(sim):
    sim.create(DINO, auth_username="log_user", auth_password="leaky-pass-1")
    sim.call("GET", sim.q("/deployment/list", key=sim.key))
    sim.call("GET", "/resource/vm/list", host=API,
             headers={"X-Debug": sim.key})
    sim.ctl("POST", "deployments", {
        "template_id": DINO, "vm_id": "vm_gt1", "auth_username": "h",
        "auth_password": "later-pass-2"})
    sim.call("GET", "/x?p=later-pass-2", host=OD)
    st, hdrs, raw = sim.call("GET", "/__sim__/requests", key=None)
    for secret in (sim.key, "leaky-pass-1", "later-pass-2"):
        assert secret.encode() not in raw, secret
    rows = json.loads(raw)["requests"]
    assert "[REDACTED]" in rows[0]["body"]
    assert rows[1]["api_key_in_url"] is True
    assert "[REDACTED]" in rows[1]["target"]
    assert rows[2]["api_key_in_headers"] == ["X-Debug"]
    assert rows[3]["target"] == "/x?p=[REDACTED]"
    st, hdrs, raw = sim.call("GET", "/__sim__/deployments", key=None)
    assert b"leaky-pass-1" not in raw and b"later-pass-2" not in raw


def test_config_and_fault_validation(sim):
    for path, body in (
            ("config", {"warmup": {"openai": [[404]]}}),
            ("config", {"warmup": {"vllm": []}}),
            ("config", {"warmup": [[404, 1]]}),
            ("config", {"warmup_override": [["404", 1]]}),
            ("config", {"warmup_override": "none"}),
            ("config", {"create_shape": "xml"}),
            ("config", {"deployment_routes": "some"}),
            ("config", {"missing_route_status": 403}),
            ("config", {"cloudflare_1010": "yes"}),
            ("config", {"billing_scale": -1}),
            ("config", {"list_lag_seconds": "1"}),
            ("faults", {"create_reply_lost": {"when": "later"}}),
            ("faults", {"delete_error": {"status": "500"}}),
            ("faults", {"http_error": {"routes": ["ctl_nope"]}}),
            ("faults", {"lifecycle_error": {"colour": 1}})):
        st, data = sim.j("POST", "/__sim__/" + path, body, key=None)
        assert st == 400 and data["error"], body
    cfg = sim.ctl("POST", "config", {"warmup_override": None,
                                     "missing_route_status": 405})
    assert cfg["config"]["missing_route_status"] == 405
    cfg = sim.ctl("GET", "config")["config"]
    assert cfg["warmup"] == TEST_CONFIG["warmup"]
    assert cfg["balance"] == 1000.0 and cfg["billing_scale"] == 1.0
    assert cfg["cloudflare_1010"] is True and cfg["create_shape"] == \
        "object"


def test_reset_clears_deployments_and_balance(sim):
    sim.ctl("POST", "config", {"billing_scale": 3600})
    sim.create(DINO, vm_id="vm_ga1")
    sim.ctl("POST", "faults", {"delete_error": {"count": -1}})
    time.sleep(0.05)
    assert sim.balance() < 1000.0
    sim.ctl("POST", "reset")
    assert sim.deployments() == [] and sim.listed() == []
    assert sim.balance() == 1000.0
    assert sim.ctl("GET", "faults")["faults"] == {}
    assert sim.ctl("GET", "config")["config"]["billing_scale"] == 1.0


# -- start-up identity from the environment -----------------------------------
def test_identity_from_env_and_no_secret_in_stderr(tmp_path):
    env = dict(os.environ, PYTHONPATH=harness.ROOT,
               THETA_SIM_API_KEY="tsk_fixed_key_for_tests_0123",
               THETA_SIM_PROJECT_ID="prj_" + "a" * 28,
               THETA_SIM_ORG_ID="org_" + "b" * 28,
               THETA_SIM_CONFIG=json.dumps({"warmup_override": []}))
    bad = dict(env, THETA_SIM_PROJECT_ID="prj_with space")
    proc = subprocess.run([sys.executable, "-m", "tests.servers.theta_sim",
                           "--port", "0"], cwd=harness.ROOT, env=bad,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)
    assert proc.returncode == 2 and b"THETA_SIM_PROJECT_ID" in proc.stderr
    log_path = tmp_path / "stderr.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "tests.servers.theta_sim",
             "--port", "0"], cwd=harness.ROOT, env=env,
            stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            words = proc.stdout.readline().split()
            info = dict(w.split("=", 1) for w in words[2:])
            server = harness.Server(proc, words[1], info)
            cli = Client(server)
            assert cli.key == "tsk_fixed_key_for_tests_0123"
            assert (cli.project, cli.org) == ("prj_" + "a" * 28,
                                              "org_" + "b" * 28)
            item = cli.create(DEEPSEEK, auth_username="env_user",
                              auth_password="env-pass-word")
            assert item["ProjectID"] == cli.project
            assert cli.balance() <= 1000.0
            cli.call("GET", cli.q("/deployment/list", k=cli.key))
            cli.call("GET", "/v1/models?pw=env-pass-word",
                     host=host_of(item),
                     auth=basic("env_user", "env-pass-word"))
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    text = log_path.read_text()
    assert "/deployment/list" in text and "/v1/models" in text
    assert cli.key not in text and "env-pass-word" not in text
