"""Copywriter mode of the Theta simulator (README "Copywriter mode").

Posts written from a ``FACTS (JSON):`` line, the hallucination rules of
config ``copy_hallucinations`` and ``GET /__sim__/copy``, on both chat
paths, streamed and not.

    /usr/bin/python3 -m pytest tests/servers/theta_sim_copy_test.py -q
"""
import hashlib
import json
import re

import pytest

from tests.servers import harness
from tests.servers.theta_sim_test import (TEST_CONFIG, Client, poll,
                                          prompt_tokens, sse_events)

FACTS = {"id": "lst_antibes_12", "title": "Bright 3-bedroom flat",
         "fields": {"type": "flat", "bedrooms": 3, "location": "Antibes",
                    "surface_m2": 85, "amenities": ["pool", "parking"],
                    "price": 450000, "currency": "EUR",
                    "available_from": "2027-03",
                    "beach_distance_m": 800}}
POST = ("Bright 3-bedroom flat in Antibes: 85 m\u00b2, pool and parking, "
        "800 m from the beach, \u20ac450,000. Available from March 2027. "
        "#RealEstate")
OTHER = {"id": "lst_nice_7", "name": "Garden villa",
         "fields": {"type": "villa", "rooms": 5, "location": "Nice",
                    "price": 1200000, "currency": "EUR"}}
OTHER_POST = ("Garden villa in Nice: 5 rooms, \u20ac1,200,000. "
              "#RealEstate")
CHAT = "/infer_request/chat/completions"


def facts_text(facts):
    return json.dumps(facts, ensure_ascii=False)


def messages(facts=FACTS, before="", after=""):
    user = ("Write one Threads post for this listing.\nTone: warm, "
            "concise\nLanguage: en\n" + before + "FACTS (JSON): "
            + facts_text(facts) + after)
    return [{"role": "system", "content": "You write property posts."},
            {"role": "user", "content": user}]


@pytest.fixture(scope="module")
def sim():
    with harness.start("theta_sim", env={
            "THETA_SIM_CONFIG": json.dumps(TEST_CONFIG),
            "THETA_SIM_LOG": "quiet"}) as server:
        yield Client(server)


@pytest.fixture(autouse=True)
def clean(sim):
    sim.ctl("POST", "reset")
    yield


def rules(sim, *rs):
    sim.ctl("POST", "config", {"copy_hallucinations": list(rs)})


def openai(sim, msgs, model="qwen3", stream=False, **extra):
    """(content, reasoning, usage, finish) from the OpenAI path."""
    body = dict({"model": model, "messages": msgs, "stream": stream},
                **extra)
    st, hdrs, raw = sim.call("POST", CHAT, body)
    assert st == 200, raw
    if not stream:
        data = json.loads(raw)
        ch = data["choices"][0]
        return (ch["message"]["content"] or "",
                ch["message"].get("reasoning") or "", data["usage"],
                ch["finish_reason"])
    return streamed(raw)


def streamed(raw):
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    body = chunks[1:-1]
    content = [c["choices"][0]["delta"].get("content") for c in body]
    content = [p for p in content if p is not None]
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning", "")
                        for c in body)
    usage = chunks[-1]["usage"]
    # one token per chunk, as for the generic answer
    assert usage["completion_tokens"] == sum(
        1 for c in body if c["choices"][0]["delta"])
    return ("".join(content), reasoning, usage,
            body[-1]["choices"][0]["finish_reason"])


def job(sim, msgs, alias="qwen3", stream=False, **extra):
    """(content, reasoning, usage, finish-or-state) from the job path."""
    inp = dict({"messages": msgs, "stream": stream}, **extra)
    if stream:
        st, hdrs, raw = sim.call("POST", "/infer_request/%s" % alias,
                                 {"input": inp})
        assert st == 200 and hdrs["content-type"].startswith(
            "text/event-stream"), raw
        return streamed(raw)
    st, data = sim.j("POST", "/infer_request/%s?wait=30" % alias,
                     {"input": inp})
    assert st == 200, data
    j = data["body"]["infer_requests"][0]
    if j["state"] != "success":
        j, _ = poll(sim, j["id"])
    usage = {"prompt_tokens": j["usage"]["input"],
             "completion_tokens": j["usage"]["output"]}
    return (j["output"].get("message", ""),
            j["output"].get("reasoning", ""), usage, j["state"])


def generations(sim):
    return sim.ctl("GET", "copy")["generations"]


def words(text):
    return len(text.split(" "))


# -- the post, on every path ----------------------------------------------
@pytest.mark.parametrize("how", ["openai", "openai_stream", "job",
                                 "job_stream"])
def test_post_from_facts_on_both_paths(sim, how):
    call = openai if how.startswith("openai") else job
    msgs = messages()
    content, reasoning, usage, end = call(sim, msgs,
                                          stream=how.endswith("stream"))
    assert content == POST
    assert reasoning == "" and end in ("stop", "success")
    # usage: one token per word sent, prompt by the usual formula
    assert usage["completion_tokens"] == words(POST)
    assert usage["prompt_tokens"] == prompt_tokens(msgs)
    gen, = generations(sim)
    assert gen == {"service": "qwen3",
                   "path": "chat" if call is openai else "infer",
                   "facts_sha256": hashlib.sha256(
                       facts_text(FACTS).encode()).hexdigest(),
                   "attempt": 1, "rules_applied": [], "text": POST}
    entry, = sim.ctl("GET", "ledger")["entries"]
    assert entry["usage"] == {"input": usage["prompt_tokens"],
                              "output": usage["completion_tokens"]}


def test_every_chat_service_and_gpt_oss_reasoning(sim):
    for alias in ("llama_3_1_70b", "gpt_oss_120b"):
        for stream in (False, True):
            c, r, u, _ = openai(sim, messages(), alias, stream,
                                max_tokens=1000, reasoning_effort="low")
            assert c == POST
            n = 200 if alias == "gpt_oss_120b" else 0
            assert (len(r.split(" ")) if r else 0) == n
            assert u["completion_tokens"] == n + words(POST)
            assert u["completion_tokens_details"]["reasoning_tokens"] == n
    # a budget too small for reasoning and post: the post is cut, and the
    # usage counts what was sent
    c, r, u, finish = openai(sim, messages(), "gpt_oss_120b", True,
                             max_tokens=210, reasoning_effort="low")
    assert finish == "length" and POST.startswith(c) and c != POST
    assert u["completion_tokens"] == 210 == 200 + words(c)
    assert [g["service"] for g in generations(sim)] == \
        ["llama_3_1_70b"] * 2 + ["gpt_oss_120b"] * 3


def test_facts_layouts_and_template(sim):
    # JSON on the next lines, ending at a blank line; feedback lines
    # after it change nothing
    pretty = json.dumps(FACTS, indent=2, ensure_ascii=False)
    msgs = [{"role": "user", "content": [
        {"type": "text", "text": "Write a post.\nFACTS (JSON):\n" + pretty
         + "\nDo not claim: a sea view\n\nTone: playful"}]}]
    assert openai(sim, msgs)[0] == POST
    # top-level keys when there is no "fields"; topic -> the hashtag
    flat = {"type": "apartment", "bedrooms": "2", "location": "Cannes",
            "price": {"amount": 1250.5, "currency": "GBP"},
            "available_from": "2027-04-15", "topic": "city living",
            "amenities": ["lift"], "surface_m2": 48.5}
    assert openai(sim, messages(flat))[0] == (
        "2-bedroom apartment in Cannes: 48.5 m\u00b2, lift, "
        "\u00a31,250.50. Available from 15 April 2027. #CityLiving")
    assert openai(sim, messages(OTHER))[0] == OTHER_POST
    # a currency without a symbol is written as its code
    chf = dict(OTHER, fields=dict(OTHER["fields"], currency="CHF"))
    assert "1,200,000 CHF." in openai(sim, messages(chf))[0]
    # a price as text, with its sign; a price that is no number
    sign = {"title": "Studio", "fields": {"price": "\u20ac 210 000"}}
    assert openai(sim, messages(sign))[0] == \
        "Studio: \u20ac210,000. #RealEstate"
    ask = {"title": "Studio", "fields": {"price": "on request"}}
    assert openai(sim, messages(ask))[0] == "Studio: on request. #RealEstate"


def test_post_limits_no_url_one_hashtag(sim):
    noisy = {"title": "Loft #1 see https://example.com/loft " + "big " * 60,
             "fields": {"amenities": ["www.pool.example", "terrace"] * 30,
                        "location": "Lyon", "price": 300000,
                        "currency": "USD"}}
    text = openai(sim, messages(noisy))[0]
    assert len(text) <= 480 and text.endswith(" #RealEstate")
    assert text.count("#") == 1 and "http" not in text and "www." not in text
    assert "\n" not in text


def test_determinism_and_attempts(sim):
    first = openai(sim, messages())[0]
    again = job(sim, messages(), "llama_3_1_70b", stream=True)[0]
    other = openai(sim, messages(OTHER))[0]
    assert first == again == POST and other == OTHER_POST
    gens = generations(sim)
    assert [g["attempt"] for g in gens] == [1, 2, 1]
    assert gens[0]["facts_sha256"] == gens[1]["facts_sha256"] != \
        gens[2]["facts_sha256"]


# -- hallucination rules -------------------------------------------------
def test_each_rule_type(sim):
    rules(sim, {"when": "lst_antibes_12", "add": "with direct beach access",
                "times": -1},
          {"when": "Garden villa", "price_factor": 1.25, "times": -1},
          {"when": "lst_nice_7", "superlative": "The best deal on the coast!",
           "times": -1},
          {"when": "Nice\"", "add": "Sea view from every room.",
           "times": -1})
    assert openai(sim, messages())[0] == POST.replace(
        "Antibes:", "Antibes with direct beach access:")
    assert openai(sim, messages(OTHER))[0] == (
        "The best deal on the coast! Garden villa in Nice: 5 rooms, "
        "\u20ac1,500,000. Sea view from every room. #RealEstate")
    assert [g["rules_applied"] for g in generations(sim)] == \
        [[0], [1, 2, 3]]
    # `when` is a case-sensitive substring of the FACTS JSON text
    rules(sim, {"when": "garden villa", "add": "x", "times": -1})
    assert openai(sim, messages(OTHER))[0] == OTHER_POST


def test_times_one_two_and_always(sim):
    rules(sim, {"when": "lst_antibes_12", "add": "with a private beach"},
          {"when": "lst_nice_7", "price_factor": 0.5, "times": 2},
          {"when": "Antibes", "superlative": "Unmissable!", "times": -1})
    bad = "Unmissable! " + POST.replace("Antibes:",
                                        "Antibes with a private beach:")
    # times 1: the first draft is bad, the regeneration clean (but for
    # the rule that never stops); the count goes across paths/services
    assert openai(sim, messages())[0] == bad
    again = job(sim, messages(after="\nDo not claim: a private beach"),
                "gpt_oss_120b", stream=True, max_tokens=3000)[0]
    assert again == "Unmissable! " + POST
    # times 2
    half = OTHER_POST.replace("1,200,000", "600,000")
    texts = [job(sim, messages(OTHER), "llama_3_1_70b")[0]
             for _ in range(3)]
    assert texts == [half, half, OTHER_POST]
    # times -1 never stops
    for stream in (False, True):
        assert openai(sim, messages(), stream=stream)[0].startswith(
            "Unmissable! ")
    gens = generations(sim)
    assert [g["rules_applied"] for g in gens] == \
        [[0, 2], [2], [1], [1], [], [2], [2]]
    assert [g["attempt"] for g in gens] == [1, 2, 1, 2, 3, 3, 4]
    # counts are per facts text: other facts with the same id start anew
    moved = dict(FACTS, fields=dict(FACTS["fields"], price=440000))
    assert "with a private beach" in openai(sim, messages(moved))[0]
    # reset forgets generations and counts
    sim.ctl("POST", "reset")
    assert generations(sim) == []
    rules(sim, {"when": "lst_antibes_12", "add": "with a private beach"})
    assert "private beach" in openai(sim, messages())[0]


def test_failed_job_is_no_generation(sim):
    rules(sim, {"when": "lst_antibes_12", "price_factor": 2})
    sim.ctl("POST", "faults", {"job_error": {"service": "qwen3"}})
    st, data = sim.j("POST", "/infer_request/qwen3?wait=30",
                     {"input": {"messages": messages(), "stream": False}})
    failed, _ = poll(sim, data["body"]["infer_requests"][0]["id"])
    assert failed["state"] == "error"
    assert generations(sim) == []
    assert "\u20ac900,000" in openai(sim, messages())[0]
    # rejected calls (capacity) are no generation either
    sim.ctl("POST", "faults", {"capacity": {}})
    st, data = sim.j("POST", CHAT, {"model": "qwen3",
                                    "messages": messages()})
    assert st == 409 and len(generations(sim)) == 1


# -- everything else unchanged --------------------------------------------
def test_generic_answer_without_facts(sim):
    rules(sim, {"when": "Say", "add": "never", "times": -1})
    plain = [{"role": "user", "content": "Say hello"}]
    broken = [{"role": "user", "content": "FACTS (JSON): {not json"}]
    not_object = [{"role": "user", "content": "FACTS (JSON): [1, 2]"}]
    late = [{"role": "user", "content": "x\n  FACTS (JSON) {\"a\": 1}"}]
    earlier = [{"role": "user", "content": messages()[1]["content"]},
               {"role": "assistant", "content": "ok"},
               {"role": "user", "content": "Say hello"}]
    for msgs in (plain, broken, not_object, late, earlier):
        for stream in (False, True):
            c, r, u, f = openai(sim, msgs, stream=stream)
            assert c.startswith("Simulated qwen3 answer to \u201c"), c
            assert u["completion_tokens"] == 24 and f == "stop"
    c, r, u, f = job(sim, plain, "llama_3_1_70b")
    assert c.startswith("Simulated llama_3_1_70b answer to \u201cSay hello")
    assert generations(sim) == []


def test_config_validation(sim):
    bad = [{"when": "x"},                               # no effect
           {"add": "x"},                                # no when
           {"when": "", "add": "x"},
           {"when": "x", "add": ""},
           {"when": "x", "add": 3},
           {"when": "x", "price_factor": "2"},
           {"when": "x", "price_factor": 0},
           {"when": "x", "price_factor": True},
           {"when": "x", "superlative": None},
           {"when": "x", "add": "y", "times": -2},
           {"when": "x", "add": "y", "times": 1.5},
           {"when": "x", "add": "y", "times": True},
           {"when": "x", "add": "y", "often": 2},
           "rule"]
    for rule in bad:
        st, data = sim.j("POST", "/__sim__/config",
                         {"copy_hallucinations": [rule]}, auth=False)
        assert st == 400 and "copy_hallucinations" in data["error"], rule
    st, data = sim.j("POST", "/__sim__/config",
                     {"copy_hallucinations": {"when": "x"}}, auth=False)
    assert st == 400
    good = [{"when": "x", "add": "y", "price_factor": 1.1,
             "superlative": "Wow!", "times": 0}]
    cfg = sim.ctl("POST", "config", {"copy_hallucinations": good})
    assert cfg["config"]["copy_hallucinations"] == good
    # times 0: the rule never applies
    rules(sim, {"when": "lst_antibes_12", "add": "with a lift",
                "times": 0})
    assert openai(sim, messages())[0] == POST
    assert sim.ctl("GET", "config")["config"]["copy_hallucinations"]
    sim.ctl("POST", "reset")
    assert sim.ctl("GET", "config")["config"]["copy_hallucinations"] == []


def test_request_log_and_ledger_shapes_unchanged(sim):
    openai(sim, messages())
    openai(sim, [{"role": "user", "content": "Say hello"}])
    rows = sim.ctl("GET", "requests?route=chat")["requests"]
    assert len(rows) == 2 and set(rows[0]) == set(rows[1])
    entries = sim.ctl("GET", "ledger")["entries"]
    assert set(entries[0]) == set(entries[1])
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{24}", entries[0]["request_id"])
