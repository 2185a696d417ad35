"""theta_sim.catalog -- the on-demand service catalog the simulator serves.

Written from reference/theta-api.md sections 2.3 (service object and the
alias table) and 7 (prices).  Prices are integers in US cents over
``cost_divisor``: LLMs in cents per 1M tokens (divisor 1e6); image, vision
and audio models one unit per request (divisor 1, 1 cent = $0.01).

Only the services the seed lists as live are present; the seed's
"catalog-only/stale" aliases (minimax_m2_5, llama_3_8b, step_video, ...)
are deliberately absent, so a client that trusts a bundled catalog gets
the real ``404 service not found`` for them.

``category`` is a convenience the real API does not send (the MCP server
derives it client-side from alias/name keywords); clients must not rely
on it.  ``base_times`` are simulator-only: (queued seconds, processing
seconds) at time scale 1.0.
"""
import hashlib

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def stable_id(prefix, seed, length):
    """A deterministic id of ``prefix`` + ``length`` chars of [0-9a-z]."""
    digest = hashlib.sha256(seed.encode()).digest()
    num = int.from_bytes(digest, "big")
    out = []
    for _ in range(length):
        num, rem = divmod(num, 36)
        out.append(ALPHABET[rem])
    return prefix + "".join(out)


PROJECT_ID = stable_id("prj_", "theta_sim project", 28)
ORG_ID = stable_id("org_", "theta_sim org", 28)

LLM_INSTRUCTIONS = ('{"input": "1M input tokens", '
                    '"output": "1M output tokens"}')


def _chat_vars(max_tokens, extra=None):
    spec = {
        "messages": {"type": "chat_array", "required": True, "index": 0,
                     "description": "chat messages [{role, content}]"},
        "max_tokens": {"type": "integer", "default": max_tokens, "index": 1},
        "temperature": {"type": "float", "default": 0.5, "index": 2},
        "top_p": {"type": "float", "default": 0.7, "index": 3},
        "stream": {"type": "bool", "default": True, "index": 4,
                   "description": "answer as text/event-stream"},
    }
    spec.update(extra or {})
    return spec


def _llm(alias, name, price_in, price_out, max_tokens, variants,
         context, extra_vars=None, display=None):
    return {
        "alias": alias, "name": name, "category": "text", "kind": "chat",
        "model_display": display or alias,
        "default_prediction": "completions",
        "predictions": {
            "completions": {
                "func_type": "chat_completions",
                "instructions": LLM_INSTRUCTIONS,
                "cost": {"input": price_in, "output": price_out},
                "cost_divisor": 1000000,
                "variants": variants,
                "input_vars": _chat_vars(max_tokens, extra_vars),
                "output_vars": {"message": {"type": "string"},
                                "reasoning": {"type": "string"}},
                "context_length": context,
            },
        },
        "base_times": (0.2, 2.0),
    }


def _unit(alias, name, category, kind, prediction, input_vars, output_vars,
          base_times, variants=None, unit="image", cents=1):
    return {
        "alias": alias, "name": name, "category": category, "kind": kind,
        "model_display": alias,
        "default_prediction": prediction,
        "predictions": {
            prediction: {
                "func_type": kind,
                "instructions": '{"output": "%s"}' % unit,
                "cost": {"input": 0, "output": cents},
                "cost_divisor": 1,
                "variants": variants or [],
                "input_vars": input_vars,
                "output_vars": output_vars,
            },
        },
        "base_times": base_times,
    }


def _img_field(index, desc="uploaded image (filename from "
               "input_presigned_urls, or an https URL)"):
    return {"type": "filename", "required": True, "index": index,
            "description": desc}


SERVICES = [
    _llm("qwen3", "Qwen3 32B", 20, 40, 500, ["default", "parallax_32b_fp8"],
         131072, {"enable_thinking": {"type": "bool", "default": False,
                                      "index": 5}}),
    _llm("gpt_oss_120b", "GPT OSS 120B", 4, 20, 4096, ["default"], 131072,
         {"reasoning_effort": {"type": "string", "default": "medium",
                               "index": 5,
                               "description": "low | medium | high"}},
         display="gpt-oss-120b"),
    _llm("llama_3_1_70b", "Llama 3.1 70B Instruct", 20, 40, 500,
         ["default", "quantized"], 131072, display="llama-3.1-70b-instruct"),
    _unit("flux", "FLUX.1 schnell", "image", "image", "generate_image", {
        "prompt": {"type": "string", "required": True, "index": 0},
        "width": {"type": "integer", "default": 1024, "index": 1},
        "height": {"type": "integer", "default": 1024, "index": 2},
        "guidance": {"type": "float", "default": 3.5, "index": 3},
        "num_steps": {"type": "integer", "default": 4, "index": 4},
        "seed": {"type": "integer", "index": 5},
        "image2image_strength": {"type": "float", "default": 0.8,
                                 "index": 6},
    }, {"image_url": {"type": "string"}, "used_seed": {"type": "string"}},
        (1.0, 6.0), variants=["default", "quantized"]),
    _unit("stable_diffusion_xl_turbo", "Stable Diffusion XL Turbo", "image",
          "image", "predict", {
              "prompt": {"type": "string", "required": True, "index": 0},
              "steps": {"type": "integer", "default": 2, "index": 1},
              "strength": {"type": "float", "default": 0.8, "index": 2},
              "guidance": {"type": "float", "default": 0.0, "index": 3},
          }, {"image_url": {"type": "string"},
              "used_seed": {"type": "string"}}, (0.5, 1.5)),
    _unit("grounding_dino", "Grounding DINO", "vision", "detect", "0", {
        "input_img": _img_field(0),
        "detection_prompt": {"type": "string", "required": True, "index": 1,
                             "description": "objects, separated by '.'"},
        "box_threshold": {"type": "float", "default": 0.35, "index": 2},
        "text_threshold": {"type": "float", "default": 0.25, "index": 3},
    }, {"boxes": {"type": "array"}, "labels": {"type": "array"},
        "scores": {"type": "array"}, "image_url": {"type": "string"}},
        (0.5, 2.0)),
    _unit("blip", "BLIP image captioning", "vision", "caption", "predict", {
        "input_img": _img_field(0),
    }, {"caption": {"type": "string"}}, (0.5, 1.0)),
    _unit("llava", "LLaVA", "vision", "vqa", "predict", {
        "input_img": _img_field(0),
        "question": {"type": "string", "required": True, "index": 1},
    }, {"text": {"type": "string"}}, (1.0, 4.0),
        variants=["default", "quantized"]),
    _unit("whisper", "Whisper", "audio", "stt", "stt", {
        "audio_filename": _img_field(0, "uploaded audio (filename from "
                                     "input_presigned_urls, or an https "
                                     "URL)"),
        "language": {"type": "string", "default": "en", "index": 1},
    }, {"text": {"type": "string"}, "language": {"type": "string"},
        "segments": {"type": "array"}}, (1.0, 5.0), unit="clip"),
]

BY_ALIAS = {s["alias"]: s for s in SERVICES}
for _s in SERVICES:
    _s["id"] = stable_id("srvc_", "service " + _s["alias"], 27)
    _s["template_id"] = stable_id("img_", "template " + _s["alias"], 28)
BY_ID = {s["id"]: s for s in SERVICES}


def lookup(id_or_alias):
    """The service for an alias or a ``srvc_`` id, or None."""
    if not isinstance(id_or_alias, str):
        return None
    return BY_ALIAS.get(id_or_alias) or BY_ID.get(id_or_alias)


def is_chat(svc):
    return svc["kind"] == "chat"


def prediction(svc, name):
    """(name, spec) for a prediction name or the default; spec None if
    the service has no such prediction."""
    name = svc["default_prediction"] if name in (None, "") else str(name)
    return name, svc["predictions"].get(name)


def file_fields(pred):
    return [k for k, v in pred["input_vars"].items()
            if v.get("type") == "filename"]


def public_view(svc):
    """The service object as ``/service/list`` shows it (section 2.3)."""
    preds = {}
    for rank, (name, p) in enumerate(svc["predictions"].items()):
        preds[name] = {
            "rank": rank,
            "func_type": p["func_type"],
            "instructions": p["instructions"],
            "cost": dict(p["cost"]),
            "cost_divisor": p["cost_divisor"],
            "external_price_tier": "standard",
            "variants": list(p["variants"]),
            "input_vars": {k: dict(v) for k, v in p["input_vars"].items()},
            "output_vars": {k: dict(v) for k, v in p["output_vars"].items()},
        }
        if "context_length" in p:
            preds[name]["context_length"] = p["context_length"]
    variants = sorted({v for p in svc["predictions"].values()
                       for v in p["variants"] if v != "default"})
    return {
        "id": svc["id"],
        "name": svc["name"],
        "alias": svc["alias"],
        "state": "public",
        "category": svc["category"],
        "template_id": svc["template_id"],
        "workload_type": "on_demand",
        "default_prediction": svc["default_prediction"],
        "predictions": preds,
        "variant_templates": {
            v: {"template_id": stable_id("img_", svc["alias"] + " " + v, 28)}
            for v in variants},
        "min_vram": 0, "min_ram": 0, "executions": 0, "rank": 0,
        "workers": "community",
        "create_time": "2025-06-01T00:00:00.000Z",
        "update_time": "2026-08-01T00:00:00.000Z",
    }
