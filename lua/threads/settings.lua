-- threads.settings: the backend as a client of lua/client, and the
-- numbers its contract fixes (reference threads-api.md, section 6).
--
--   settings.get{secret = true}   {base_url, tenant_id, secret}, or nil,
--                                 err (config: exit 2, naming every
--                                 missing setting)
--   settings.api                  the client (lua/client) of the backend
local config = require "config"
local client = require "client"

local _M = {}

_M.PUBLISH_PATH = "/api/v1/threads/publish"
_M.CHAT_PATH = "/api/v1/assistant/chat"
_M.QUEUE_PATH = "/api/v1/threads/queue"

_M.TEXT_LIMIT = 500            -- UTF-8 bytes (threads-api.md 2.3)
_M.LINKS_LIMIT = 5             -- distinct links in the text (2.3, 6.2)
_M.IMAGES_LIMIT = 20           -- carousel maximum (2.2)
_M.PAST_GRACE_S = 60           -- the backend's grace for "now" (6.2)
_M.DEFAULT_TENANT = "agency_paris"
_M.DEFAULT_SOURCE = "cli"
_M.DEFAULT_PROVIDER = "replicate"
_M.DEFAULT_MODEL = "black-forest-labs/flux-1.1-pro"
_M.DEFAULT_CHAT_MESSAGE = "Generate and enqueue one image post"

-- threads-api.md 6.7: 15 s for publish (the backend proxies images),
-- 75 s for the assistant (60 s Prefer: wait plus download/enqueue).
_M.PUBLISH_TIMEOUT_MS = 15000
_M.PUBLISH_RETRIES = 3
_M.PUBLISH_DEADLINE_MS = 45000  -- also the longest Retry-After waited
_M.CHAT_TIMEOUT_MS = 75000
_M.QUEUE_TIMEOUT_MS = 15000

_M.BASE_VAR = "THREADS_FASTAPI_BASE_URL"
_M.SECRET_VAR = "THREADS_QUEUE_SECRET"
_M.TENANT_VAR = "THREADS_TENANT_ID"

_M.api = client.new {
  name = "the backend",
  base = { _M.BASE_VAR, help = "your backend's base URL, e.g. " ..
                               "http://127.0.0.1:8000" },
  secret = { _M.SECRET_VAR, help = "the X-Queue-Secret value your " ..
                                   "backend expects" },
}

-- opts.secret: the queue secret is needed too (publish and the queue
-- endpoints; not the assistant).
function _M.get(opts)
  local s, err = _M.api:settings(opts)
  if not s then return nil, err end
  s.tenant_id = config.get(_M.TENANT_VAR) or _M.DEFAULT_TENANT
  return s
end

return _M
