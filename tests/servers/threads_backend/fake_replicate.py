"""In-process fake of Replicate predictions for flux models.

A prediction is ``starting`` for the first third of its latency
(``REF_FAKE_GEN_MS``), then ``processing``, then ``succeeded`` with one
output URL under ``/__fake__/replicate.delivery/xezq/<id>/out-0.jpg`` that
serves a JPEG generated in code (threads-api.md 5 and 6.6).  Outputs
disappear one hour (fake clock) after creation, like Replicate's.

Prompt tags: ``#nsfw`` -> ``failed``; ``#slow`` -> still ``processing``
when the assistant's timeout (``REF_GEN_TIMEOUT_S``) runs out (it finishes
one latency later, so the prediction can be resumed); ``#throttle`` ->
create is refused with Replicate's 429 body.
"""
import random
import string
import time

from . import images

RETENTION_S = 3600
DELIVERY_PREFIX = "/__fake__/replicate.delivery/xezq/"


class Throttled(Exception):
    retry_after_s = 1
    body = {"detail": "Request was throttled. Expected available in 1 "
                      "second."}


def _pred_id():
    return "".join(random.choices(string.ascii_lowercase + string.digits,
                                  k=26))


class FakeReplicate:
    def __init__(self, clock):
        self.clock = clock
        self.reset()

    def reset(self):
        self.predictions = {}

    def create(self, model, input_, gen_ms, gen_timeout_s, base_url):
        prompt = (input_.get("prompt") or "").lower()
        if "#throttle" in prompt:
            raise Throttled()
        pid = _pred_id()
        total_ms = gen_ms
        if "#slow" in prompt:
            total_ms = gen_timeout_s * 1000 + max(gen_ms, 200)
        self.predictions[pid] = {
            "id": pid, "model": model, "version": None, "input": input_,
            "created_mono": time.monotonic(), "total_ms": total_ms,
            "fail": "#nsfw" in prompt, "created_at": self.clock.iso(),
            "created_clock": self.clock.now(), "base_url": base_url,
            "logs": "", "data_removed": False}
        return self.get(pid)

    def _status(self, p):
        elapsed = (time.monotonic() - p["created_mono"]) * 1000
        if elapsed < p["total_ms"] / 3:
            return "starting"
        if elapsed < p["total_ms"]:
            return "processing"
        return "failed" if p["fail"] else "succeeded"

    def get(self, pid):
        p = self.predictions.get(pid)
        if p is None:
            return None
        status = self._status(p)
        out = {k: p[k] for k in ("id", "model", "version", "input", "logs",
                                 "created_at", "data_removed")}
        out.update(status=status, output=None, error=None,
                   urls={"get": f"{p['base_url']}/__fake__/replicate/v1/"
                                f"predictions/{pid}",
                         "cancel": f"{p['base_url']}/__fake__/replicate/v1/"
                                   f"predictions/{pid}/cancel"})
        if status == "succeeded":
            out["output"] = (f"{p['base_url']}{DELIVERY_PREFIX}{pid}/"
                             "out-0.jpg")
            out["metrics"] = {"predict_time": p["total_ms"] / 1000}
        elif status == "failed":
            out["error"] = ("NSFW content detected. Try running it again, "
                            "or try a different prompt.")
        return out

    def delivery(self, pid):
        """Bytes of a succeeded prediction's output, or None."""
        p = self.predictions.get(pid)
        if p is None or self._status(p) != "succeeded":
            return None
        if self.clock.now() - p["created_clock"] > RETENTION_S:
            return None
        if "jpeg" not in p:
            p["jpeg"] = images.sample_jpeg(pid, 320, 400)   # 4:5
        return p["jpeg"]
