"""Offline stand-in for the user's ThreadClaw FastAPI backend.

Implements threads-api.md section 6 (the contract for the "ThreadClaw
FastAPI (Queue + Publish)" skill) as a real FastAPI app under uvicorn,
with an in-process fake Threads Graph API and a fake Replicate.  It never
contacts a non-loopback address.  See README.md beside this file for the
full description; this docstring is the reference list of switches.

Launch (from the repository root; see tests/servers/harness.py)::

    THREADS_QUEUE_SECRET=s3cret REF_TEST_HOOKS=1 \\
        /usr/bin/python3 -m tests.servers.threads_backend --port 0

First stdout line: ``READY http://127.0.0.1:PORT uploads_dir=DIR``.

Start-only environment
----------------------
THREADS_QUEUE_SECRET   required; the X-Queue-Secret value expected (never
                       logged or echoed).  Missing -> exit 2.
STORAGE_PROVIDER       ``local`` (default; anything else -> exit 2)
UPLOADS_DIR            default ``uploads``, relative to the state dir
UPLOADS_PATH           default ``/uploads`` (URL prefix of stored files)
REF_STATE_DIR          state dir; default a fresh temp dir removed at exit
REF_PUBLIC_BASE_URL    base of public_url for proxied images (default: the
                       base URL the request came in on)
REF_TEST_HOOKS=1       enable the /__test__/* endpoints
REF_PROXY_ALLOW        extra loopback ``host:port`` entries the image proxy
                       may fetch from (comma separated)
REF_LOG_LEVEL          uvicorn log level on stderr (default ``warning``)

Runtime switches (env ``REF_<NAME>`` at start; ``POST /__test__/config``
with ``{"<name>": value}`` at run time; reset restores the start values)
------------------------------------------------------------------------
error_style            ``object`` | ``string`` (detail as plain string)
fail_mode              ``""`` | ``unavailable`` (/api/* and /health: 503,
                       Retry-After: 2)
dedup_s                content-dedup window, default 120, 0 = off
min_spacing_s          spacing of next-free-slot items, default 0
idempotency_ttl_s      how long Idempotency-Keys are kept, default 86400,
                       0 = for ever
strict_extra           unknown body fields -> 422 extra_forbidden
quota_limit            default 250 per tenant per rolling 24 h
quota_preset           ``tenant=count,...``, default ``quota_test=249``
assistant_require_secret  assistant/chat needs X-Queue-Secret too
container_wait_s       default 30; poll_s default 60; poll_max_s 300
confirm_checks         status checks after a lost publish, default 3
fake_in_progress_polls status polls a fake container stays IN_PROGRESS (1)
fake_gen_ms            fake Replicate latency, default 300
gen_timeout_s          assistant wait for a prediction, default 60
image_timeout_s        proxy fetch timeout, default 10
image_max_bytes        proxy size limit, default 8 MiB
worker_interval_s      background worker period, default 0 (off)

Fault switches (same mechanism; also ``POST /__test__/faults`` with the
name without ``fault_``).  Counters apply to both POST endpoints
(threads/publish and assistant/chat) in arrival order.
-------------------------------------------------------------------------
REF_FAULT_FAIL_AFTER_STORE=N   next N successful POSTs (new item, replay
                               or dedup) answer 500 internal_error after
                               the item is stored; the idempotency record
                               keeps the real answer, so a retry with the
                               same Idempotency-Key gets it replayed
REF_FAULT_DROP_AFTER_STORE=N   same, but the connection is closed with no
                               response bytes at all
REF_FAULT_DELAY_MS=N           every /api/* response waits N ms (for the
                               POSTs while the Idempotency-Key is still in
                               flight, so a concurrent retry gets 409)
REF_FAULT_IN_USE=N             next N POSTs: 409 idempotency_key_in_use,
                               Retry-After: 1 (nothing stored)
REF_FAULT_RATE_LIMIT=N         next N POSTs: 429 rate_limited with
REF_FAULT_RATE_LIMIT_RETRY_AFTER_S=S  Retry-After: S (default 1)

Test hooks (REF_TEST_HOOKS=1 only)
----------------------------------
POST /__test__/reset                  empty queue/fakes/uploads, clock and
                                      switches back to start values
GET|POST /__test__/clock              {"advance_s": N} moves the fake clock
POST /__test__/worker/tick            run due work now; optional
                                      {"advance_s": N} first; returns
                                      {"transitions": [...], ...}
GET /__test__/threads/calls           recorded fake Graph calls; filters
                                      ?item_id= &tenant_id= &path_suffix=
GET /__test__/threads/posts           posts the fake Graph published
GET /__test__/idempotency             idempotency keys: in_flight / done
GET|POST /__test__/config             runtime switches (see above)
GET|POST /__test__/faults             fault switches without ``fault_``

Magic inputs
------------
Post text: #fail-container, #expire, #not-ready, #lost-response,
#lost-unconfirmed (fake Graph); prompt: #nsfw, #slow, #throttle (fake
Replicate); image host ``unreachable.test``; tenant ``quota_test``.
"""
