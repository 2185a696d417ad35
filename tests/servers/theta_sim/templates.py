"""theta_sim.templates -- deployment templates and VM types.

Written from reference/theta-api.md section 3.4.  The real catalogue is
only partly known, so the few templates the reference names (Grounding
Dino, DeepSeek R1 Distill-Qwen-7B, GLM-5.2, Llama 3 8B Instruct, Jupyter
Notebook, GPU Node) keep their real ids and images, and generated filler
templates with realistic names bring the "serving" category above 50
entries: a client that reads one page of 50 misses some.  Filler ids are
derived from the names, so they are the same on every run.

Each template has a simulator-only ``flavour`` (what its endpoint
speaks: ``openai`` = vLLM's OpenAI API, ``gradio``, ``html`` = a notebook
or shell page) and, for ``openai``, the ``model`` id it serves.  Neither
is part of the public template object.

VM types and their fields are invented (reference 8.9: the real field
names are unknown); only the ids come from public material.
"""
from .catalog import stable_id

VMS = [
    {"id": "vm_gt1", "name": "G-T4_16GB-x1", "gpu": "NVIDIA T4",
     "gpu_count": 1, "vram_gb": 16, "price_hr_usd": 0.50},
    {"id": "vm_gt2", "name": "G-T4_16GB-x2", "gpu": "NVIDIA T4",
     "gpu_count": 2, "vram_gb": 32, "price_hr_usd": 1.00},
    {"id": "vm_gv1", "name": "G-V100_32GB-x1", "gpu": "NVIDIA V100",
     "gpu_count": 1, "vram_gb": 32, "price_hr_usd": 0.90},
    {"id": "vm_ga1", "name": "G-A100_80GB-x1", "gpu": "NVIDIA A100",
     "gpu_count": 1, "vram_gb": 80, "price_hr_usd": 2.20},
    {"id": "vm_gh200x1", "name": "G-H200_141GB-x1", "gpu": "NVIDIA H200",
     "gpu_count": 1, "vram_gb": 141, "price_hr_usd": 4.50},
    {"id": "vm_c1", "name": "C-4vCPU_16GB", "gpu": None,
     "gpu_count": 0, "vram_gb": 0, "price_hr_usd": 0.05},
]
VM_BY_ID = {v["id"]: v for v in VMS}

VLLM_IMAGE = "thetalabsofficial/vllm-theta:latest"
HF_TOKEN = "HUGGING_FACE_HUB_TOKEN"

# Named in the reference: (id, name, category, flavour, image, port,
# model, tags).
KNOWN = [
    ("img_qqu31asazaig666jtzp7gjd4pway", "Grounding Dino", "serving",
     "gradio", "thetalabsofficial/grounding-dino:1.3", 7860, None,
     ["Vision", "Detection"]),
    ("img_gf070dbq0kttgz1atmiatyunhdxm", "DeepSeek R1 Distill-Qwen-7B",
     "serving", "openai", VLLM_IMAGE, 8000,
     "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", ["LLM", "API"]),
    ("img_hizq6ddeft6c6ep6qmd347xe4mr8", "GLM-5.2", "serving", "openai",
     VLLM_IMAGE, 8000, "zai-org/GLM-5.2", ["LLM", "API"]),
    (None, "Llama 3 8B Instruct", "serving", "openai", VLLM_IMAGE, 8000,
     "meta-llama/Meta-Llama-3-8B-Instruct", ["LLM", "API"]),
    (None, "Jupyter Notebook", "prototyping", "html",
     "jupyter/base-notebook:latest", 8888, None, ["Notebook"]),
    (None, "GPU Node", "prototyping", "html",
     "thetalabsofficial/gpu-node:latest", 8080, None, ["Shell"]),
    (None, "PyTorch Jupyter Notebook", "prototyping", "html",
     "thetalabsofficial/pytorch-notebook:latest", 8888, None,
     ["Notebook"]),
    (None, "VS Code Server", "prototyping", "html",
     "thetalabsofficial/code-server:latest", 8080, None, ["IDE"]),
]

# Filler LLMs served by vLLM: (name, model id).
FILLER_LLMS = [
    ("Llama 3.1 8B Instruct", "meta-llama/Llama-3.1-8B-Instruct"),
    ("Llama 3.1 70B Instruct", "meta-llama/Llama-3.1-70B-Instruct"),
    ("Llama 3.2 1B Instruct", "meta-llama/Llama-3.2-1B-Instruct"),
    ("Llama 3.2 3B Instruct", "meta-llama/Llama-3.2-3B-Instruct"),
    ("Llama 3.3 70B Instruct", "meta-llama/Llama-3.3-70B-Instruct"),
    ("Mistral 7B Instruct v0.3", "mistralai/Mistral-7B-Instruct-v0.3"),
    ("Mixtral 8x7B Instruct", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    ("Mistral Nemo Instruct", "mistralai/Mistral-Nemo-Instruct-2407"),
    ("Qwen2.5 7B Instruct", "Qwen/Qwen2.5-7B-Instruct"),
    ("Qwen2.5 14B Instruct", "Qwen/Qwen2.5-14B-Instruct"),
    ("Qwen2.5 32B Instruct", "Qwen/Qwen2.5-32B-Instruct"),
    ("Qwen2.5 Coder 7B Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct"),
    ("Qwen3 8B", "Qwen/Qwen3-8B"),
    ("Qwen3 14B", "Qwen/Qwen3-14B"),
    ("Qwen3 32B", "Qwen/Qwen3-32B"),
    ("Gemma 2 9B IT", "google/gemma-2-9b-it"),
    ("Gemma 2 27B IT", "google/gemma-2-27b-it"),
    ("Gemma 3 12B IT", "google/gemma-3-12b-it"),
    ("Phi-3 Mini 4K Instruct", "microsoft/Phi-3-mini-4k-instruct"),
    ("Phi-4", "microsoft/phi-4"),
    ("DeepSeek R1 Distill-Llama-8B",
     "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"),
    ("DeepSeek R1 Distill-Qwen-14B",
     "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"),
    ("DeepSeek R1 Distill-Qwen-32B",
     "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"),
    ("DeepSeek V2 Lite Chat", "deepseek-ai/DeepSeek-V2-Lite-Chat"),
    ("Falcon 7B Instruct", "tiiuae/falcon-7b-instruct"),
    ("Vicuna 13B v1.5", "lmsys/vicuna-13b-v1.5"),
    ("Zephyr 7B Beta", "HuggingFaceH4/zephyr-7b-beta"),
    ("OpenChat 3.5", "openchat/openchat-3.5-0106"),
    ("Yi 1.5 9B Chat", "01-ai/Yi-1.5-9B-Chat"),
    ("SmolLM2 1.7B Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct"),
    ("GPT-OSS 20B", "openai/gpt-oss-20b"),
    ("Hermes 3 Llama 3.1 8B", "NousResearch/Hermes-3-Llama-3.1-8B"),
    ("Code Llama 7B Instruct", "codellama/CodeLlama-7b-Instruct-hf"),
    ("StarCoder2 15B Instruct", "bigcode/starcoder2-15b-instruct-v0.1"),
]

# Filler Gradio apps: (name, tag).
FILLER_APPS = [
    ("Stable Diffusion XL", "ImageGen"),
    ("Stable Diffusion 1.5", "ImageGen"),
    ("Stable Diffusion 3 Medium", "ImageGen"),
    ("FLUX.1 schnell", "ImageGen"),
    ("FLUX.1 dev", "ImageGen"),
    ("SDXL Turbo", "ImageGen"),
    ("Stable Video Diffusion", "VideoGen"),
    ("ControlNet Canny", "ImageGen"),
    ("InstantID", "ImageGen"),
    ("Real-ESRGAN Upscaler", "Image"),
    ("GFPGAN Face Restoration", "Image"),
    ("Segment Anything", "Vision"),
    ("BLIP Image Captioning", "Vision"),
    ("LLaVA 1.6 7B", "Vision"),
    ("Whisper Large v3", "Audio"),
    ("Whisper Medium", "Audio"),
    ("Bark Text to Speech", "Audio"),
    ("XTTS v2", "Audio"),
    ("MusicGen Medium", "Audio"),
    ("Depth Anything", "Vision"),
    ("YOLOv8 Detection", "Vision"),
    ("Background Remover", "Image"),
    ("CLIP Interrogator", "Vision"),
    ("Kokoro TTS", "Audio"),
]


def slug(name, sep="-"):
    """Lower-case letters and digits of ``name``, words joined by
    ``sep`` ("Grounding Dino" -> "grounding-dino")."""
    words, cur = [], ""
    for ch in name.lower():
        if ch.isascii() and ch.isalnum():
            cur += ch
        elif cur:
            words.append(cur)
            cur = ""
    if cur:
        words.append(cur)
    return sep.join(words) or "app"


def _template(rank, tid, name, category, flavour, image, port, model,
              tags):
    args, env, need_env = [], {}, False
    if flavour == "openai":
        args = ["--model", model, "--port", str(port)]
        if model.startswith(("meta-llama/", "google/", "mistralai/")):
            env, need_env = {HF_TOKEN: ""}, True       # gated weights
        desc = ("%s served by vLLM behind an OpenAI-compatible API."
                % name)
    elif flavour == "gradio":
        desc = "%s with a Gradio web interface and API." % name
    else:
        desc = "%s, reachable from the browser." % name
    return {
        "id": tid or stable_id("img_", "deployment template " + name, 28),
        "name": name,
        "description": desc,
        "tags": list(tags),
        "category": category,
        "project_id": None,
        "container_images": [image],
        "container_port": port,
        "container_args": args,
        "env_vars": env,
        "require_env_vars": need_env,
        "rank": rank,
        "icon_url": "https://assets.thetaedgecloud.com/templates/%s.png"
                    % slug(name),
        "create_time": "2025-%02d-%02dT12:00:00.000Z"
                       % (rank % 12 + 1, rank % 28 + 1),
        # simulator only, dropped by public_view()
        "flavour": flavour,
        "model": model,
    }


def _build():
    rows = list(KNOWN)
    for name, model in FILLER_LLMS:
        rows.append((None, name, "serving", "openai", VLLM_IMAGE, 8000,
                     model, ["LLM", "API"]))
    for name, tag in FILLER_APPS:
        rows.append((None, name, "serving", "gradio",
                     "thetalabsofficial/%s:1.0" % slug(name), 7860, None,
                     [tag]))
    return [_template(i, *row) for i, row in enumerate(rows)]


STANDARD = _build()
BY_ID = {t["id"]: t for t in STANDARD}
BY_IMAGE = {}
for _t in STANDARD:
    BY_IMAGE.setdefault(_t["container_images"][0], _t)
CATEGORIES = ("prototyping", "serving")
PUBLIC_KEYS = ("id", "name", "description", "tags", "category",
               "project_id", "container_images", "container_port",
               "container_args", "env_vars", "require_env_vars", "rank",
               "icon_url", "create_time")


def lookup(tid):
    return BY_ID.get(tid) if isinstance(tid, str) else None


def public_view(t):
    return {k: (list(t[k]) if isinstance(t[k], list) else
                dict(t[k]) if isinstance(t[k], dict) else t[k])
            for k in PUBLIC_KEYS}


def in_category(category):
    """Standard templates of one category (all for None), by rank."""
    return [t for t in STANDARD
            if category is None or t["category"] == category]
