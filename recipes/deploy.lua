-- deploy: create a deployment that stays (theta-api.md 3.2). It costs
-- money by the hour until deployment-delete: without --yes, only the
-- plan is shown. For a deployment that is created, tried and deleted
-- in one go, use validate-disposable.
--
--   clawhost run deploy --template img_gf070dbq0kttgz1atmiatyunhdxm --yes
local errors = require "errors"
local secret = require "secret"
local client = require "client"
local ctl = require "theta.controller"

return {
  description = "Create an EdgeCloud deployment that stays (billed " ..
                "hourly until deleted; --yes to create)",
  group = "Theta deployments",
  params = {
    template = { type = "string", arg = "img_...",
                 help = "template id (clawhost run templates)" },
    image = { type = "string", arg = "IMAGE",
              help = "a container image instead of a template" },
    vm = { type = "string", arg = "vm_...", default = "vm_gt1",
           help = "VM type (clawhost run vms)" },
    nickname = { type = "string", help = "a name to find it by" },
    replicas = { type = "integer", default = 1, min = 1, max = 10,
                 help = "replicas (min and max)" },
    env = { type = "list", arg = "NAME=VALUE",
            help = "an environment variable of the container (repeat)" },
    project_id = { type = "string", arg = "prj_...",
                   help = "the project (default THETA_EC_PROJECT_ID)" },
    yes = { type = "boolean", default = false,
            help = "create it (it is billed by the hour until deleted)" },
  },
  calls = { "POST controller.thetaedgecloud.com/deployment" },
  approval = "lives",
  spends = "yes: the VM's hourly price for as long as the deployment " ..
           "lives (not reserved: no end is known); delete it with " ..
           "deployment-delete",
  run = function(ctx, args)
    if not args.template and not args.image then
      return nil, errors.new("usage", "give --template img_... " ..
        "(clawhost run templates) or --image IMAGE")
    end
    local env = {}
    for _, kv in ipairs(args.env or {}) do
      local k, v = kv:match("^([%a_][%w_]*)=(.*)$")
      if not k then
        return nil, errors.new("usage", "--env '" .. kv .. "' is not " ..
          "NAME=VALUE")
      end
      env[k] = v
    end
    -- the endpoint credentials: the ones in the settings, so dedicated
    -- calls can use them; else generated (the dashboard shows them)
    local user = secret.get("THETA_INFERENCE_AUTH_USER")
    local pass = secret.get("THETA_INFERENCE_AUTH_PASS")
    local generated = not (user and pass)
    if generated then
      user = "clawhost_" .. string.format("%08x", math.random(0, 2^31))
      pass = secret.random(18, { name = "deployment_password",
                                 hosts = { "controller.thetaedgecloud.com",
                                           ".onthetaedgecloud.com" } })
    end
    local payload = {
      project_id = args.project_id, deployment_template_id = args.template,
      container_image = args.image, vm_id = args.vm,
      min_replicas = args.replicas, max_replicas = args.replicas,
      env_vars = next(env) and env or nil,
      annotations = { nickname = args.nickname or "" },
      auth_username = user, auth_password = pass,
    }
    if not args.yes and not ctx.dry_run then
      local shown = client.masked(payload)
      return { created = false, payload = shown,
               note = "nothing created: add --yes to create it (billed " ..
                      "by the hour until deployment-delete)" }
    end
    local answer, h = ctl.create(ctx, payload)
    if not answer then return nil, h end
    if answer.dry_run then return answer end
    return {
      created = true, name = h.name, endpoint = h.endpoint,
      shard = h.shard, suffix = h.suffix, base_id = h.base_id,
      credentials = generated and "generated: not shown (see the " ..
        "deployment in the dashboard), or set THETA_INFERENCE_AUTH_USER " ..
        "and THETA_INFERENCE_AUTH_PASS before deploying to choose them"
        or "THETA_INFERENCE_AUTH_USER / THETA_INFERENCE_AUTH_PASS",
      next = "clawhost run ready --endpoint " .. tostring(h.endpoint) ..
             "; delete it with clawhost run deployment-delete --shard " ..
             tostring(h.shard) .. " --suffix " .. tostring(h.suffix) ..
             " --yes",
      answer = client.masked(answer),
    }
  end,
}
