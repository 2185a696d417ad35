"""theta_sim.deployments -- dedicated deployments: records, clock, bill.

A deployment (reference 3.2, 3.3) is a record the controller creates and
the dedicated host serves.  Like a job, its state is a function of time:
after create or start the endpoint goes through the warm-up phases of
its flavour (config ``warmup``; reference 3.3 saw 404 -> 503 -> 401 ->
ready for vLLM and 404 -> 502 -> ready for Gradio), then it is ready;
stop makes it answer 503 until started again; delete takes it away for
good.  Deleted records are kept (flagged) so that tests can check that
nothing was left running.

Money: each deployment costs its VM's ``price_hr_usd`` for every second
it is alive (creation to deletion, stopped time excluded), times config
``billing_scale``.  The balance is the configured start balance minus
that, computed when asked, so it falls continuously.

ASSUMPTIONS (reference 8.8, 8.9): EndpointStatus "Pending" | "Running" |
"Stopped", BaseID ``dpl_`` + 28, region "us-east", VM prices invented.
"""
import hashlib
import secrets
import time

from . import templates
from .catalog import ALPHABET
from .state import DEFAULT_CONFIG, iso, new_id

REGION = "us-east"
SHARDS = 40
# PascalCase item key -> key in the "nested" create reply.
SNAKE = {
    "Name": "name", "ProjectID": "project_id",
    "TemplateName": "template_name",
    "DeploymentImageID": "deployment_image_id", "ImageURL": "image_url",
    "MachineType": "machine_type", "Replicas": "replicas",
    "MinReplicas": "min_replicas", "MaxReplicas": "max_replicas",
    "Annotations": "annotations", "Endpoint": "endpoint_url",
    "EndpointStatus": "endpoint_status", "AuthUsername": "auth_username",
    "AuthPassword": "auth_password", "BaseID": "base_id", "Shard": "shard",
    "Suffix": "suffix", "Region": "region", "CreateTime": "create_time",
}
CUSTOM_TEMPLATE = "Custom"


def random_text(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def flavour_of(template, image, env_vars):
    """(flavour, model) of what a deployment will serve."""
    if template is not None:
        return template["flavour"], template["model"]
    known = templates.BY_IMAGE.get(image)
    if "vllm" in image.lower():
        model = env_vars.get("MODEL") or env_vars.get("MODEL_NAME")
        return "openai", model or "custom-model"
    if known is not None:
        return known["flavour"], known["model"]
    return "html", None


class Deployment:
    def __init__(self, sim, spec):
        """``spec``: template (or None), image, vm_id, min_replicas,
        max_replicas, annotations, env_vars, auth_username,
        auth_password, project_id, source."""
        tpl = spec["template"]
        self.sim = sim
        self.template = tpl
        self.template_name = tpl["name"] if tpl else CUSTOM_TEMPLATE
        self.image_id = tpl["id"] if tpl else None
        self.image = spec["image"] or tpl["container_images"][0]
        self.flavour, self.model = flavour_of(tpl, self.image,
                                              spec["env_vars"])
        self.vm_id = spec["vm_id"]
        self.min_replicas = spec["min_replicas"]
        self.max_replicas = spec["max_replicas"]
        self.annotations = dict(spec["annotations"])
        self.env_vars = dict(spec["env_vars"])
        self.auth_username = spec["auth_username"]
        self.auth_password = spec["auth_password"]
        self.project_id = spec["project_id"]
        self.source = spec["source"]
        base = self.template_name if tpl else \
            self.image.split("/")[-1].split(":")[0]
        nick = self.annotations.get("nickname")
        self.name = nick if isinstance(nick, str) and nick.strip() else \
            "%s-%s" % (templates.slug(base), secrets.token_hex(2))
        self.base_id = new_id("dpl_", 28)
        self.shard = secrets.randbelow(SHARDS) + 1
        self.suffix = random_text(ALPHABET, 10)
        label = "%s%s-%s" % (templates.slug(base, "")[:20],
                             random_text(ALPHABET, 6),
                             secrets.token_hex(8))
        self.host = "%s.tec-s%d.onthetaedgecloud.com" % (label, self.shard)
        self.created = time.time()
        self.t0 = time.monotonic()
        self.started = self.t0          # last create or start
        self.stopped_since = None       # monotonic, while stopped
        self.stopped_total = 0.0
        self.deleted = None             # wall clock of deletion
        self.deleted_mono = None
        self.status_at_delete = None
        self.endpoint_requests = {}

    # -- clock ------------------------------------------------------------
    def phases(self):
        cfg = self.sim.config
        if cfg["warmup_override"] is not None:
            return cfg["warmup_override"]
        table = cfg["warmup"]
        if self.flavour in table:
            return table[self.flavour]
        return DEFAULT_CONFIG["warmup"].get(self.flavour, [])

    def warmup_status(self, now=None):
        """The HTTP status of the current warm-up phase, or None once the
        endpoint is ready."""
        now = time.monotonic() if now is None else now
        el = now - self.started
        for status, seconds in self.phases():
            if el < seconds:
                return status
            el -= seconds
        return None

    def skip_warmup(self):
        total = sum(s for _, s in self.phases())
        self.started -= total + 1

    def state(self):
        if self.deleted is not None:
            return "deleted"
        if self.stopped_since is not None:
            return "stopped"
        return "pending" if self.warmup_status() is not None else "running"

    def endpoint_status(self):
        st = self.state()
        if st == "deleted":
            return self.status_at_delete
        return {"pending": "Pending", "running": "Running",
                "stopped": "Stopped"}[st]

    # -- lifecycle --------------------------------------------------------
    def stop(self):
        if self.stopped_since is None:
            self.stopped_since = time.monotonic()

    def start(self):
        if self.stopped_since is not None:
            now = time.monotonic()
            self.stopped_total += now - self.stopped_since
            self.stopped_since = None
            self.started = now

    def delete(self):
        self.status_at_delete = self.endpoint_status()
        self.deleted = time.time()
        self.deleted_mono = time.monotonic()

    def listed(self, now, lag):
        """Shown by a list call: alive, or deleted less than ``lag``
        seconds ago (config list_lag_seconds)."""
        return self.deleted is None or now - self.deleted_mono < lag

    # -- money ------------------------------------------------------------
    def alive_seconds(self, now=None):
        now = time.monotonic() if now is None else now
        end = self.deleted_mono if self.deleted_mono is not None else now
        stopped = self.stopped_total
        if self.stopped_since is not None:
            stopped += end - self.stopped_since
        return max(0.0, end - self.t0 - stopped)

    def cost_usd(self, now=None):
        price = templates.VM_BY_ID[self.vm_id]["price_hr_usd"]
        return (price * self.alive_seconds(now) / 3600
                * float(self.sim.config["billing_scale"]))

    # -- views ------------------------------------------------------------
    @property
    def endpoint(self):
        return "https://" + self.host

    def item(self):
        """The list item (PascalCase, reference 3.3)."""
        return {
            "Name": self.name,
            "ProjectID": self.project_id,
            "TemplateName": self.template_name,
            "DeploymentImageID": self.image_id,
            "ImageURL": self.image,
            "MachineType": self.vm_id,
            "Replicas": self.min_replicas,
            "MinReplicas": self.min_replicas,
            "MaxReplicas": self.max_replicas,
            "Annotations": dict(self.annotations),
            "Endpoint": self.endpoint,
            "EndpointStatus": self.endpoint_status(),
            "AuthUsername": self.auth_username,
            "AuthPassword": self.auth_password,
            "BaseID": self.base_id,
            "Shard": self.shard,
            "Suffix": self.suffix,
            "Region": REGION,
            "CreateTime": iso(self.created),
        }

    def snake_item(self):
        return {SNAKE[k]: v for k, v in self.item().items()}

    def control_view(self):
        v = self.item()
        pw = v["AuthPassword"]
        if pw:
            v["AuthPassword"] = "[REDACTED]"
        v.update({
            # lets a test look for the password in a client's output
            # without the password itself ever being shown
            "auth_password_sha256": hashlib.sha256(
                pw.encode()).hexdigest() if pw else None,
            "deleted": self.deleted is not None,
            "deleted_at": iso(self.deleted),
            "created_at": iso(self.created),
            "state": self.state(),
            "flavour": self.flavour,
            "model": self.model,
            "source": self.source,
            "alive_seconds": round(self.alive_seconds(), 3),
            "cost_usd": round(self.cost_usd(), 6),
            "endpoint_requests": dict(self.endpoint_requests),
        })
        return v


def balance(sim):
    now = time.monotonic()
    spent = sum(d.cost_usd(now) for d in sim.deployments.values())
    return round(float(sim.config["balance"]) - spent, 6)


def find(sim, shard=None, suffix=None, base_id=None, host=None,
         live=True, project_id=None):
    """The deployment matching every given handle, or None."""
    for d in sim.deployments.values():
        if live and d.deleted is not None:
            continue
        if project_id is not None and d.project_id != project_id:
            continue
        if shard is not None and d.shard != shard:
            continue
        if suffix is not None and d.suffix != suffix:
            continue
        if base_id is not None and d.base_id != base_id:
            continue
        if host is not None and d.host != host:
            continue
        return d
    return None


def add(sim, spec):
    d = Deployment(sim, spec)
    sim.deployments[d.base_id] = d
    return d
