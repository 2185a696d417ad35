-- smoke: the seed's budget-guarded live smoke run over several services.
--
--   clawhost run smoke          # qwen3,flux,blip,grounding_dino,whisper
--   clawhost run smoke --services qwen3 --budget 0.30
--   clawhost run smoke --dry-run               # plan and worst case only
local smoke = require "theta.smoke"

return {
  group = "Theta on-demand",
  description = "Budget-guarded smoke run: call several on-demand " ..
                "services at once and report cost against the cap",
  params = {
    services = { type = "string", arg = "LIST",
                 help = "comma-separated aliases (default: $SERVICES, " ..
                        "else qwen3,flux,blip,grounding_dino,whisper)" },
  },
  calls = { "GET /service/list",
            "POST /infer_request/{service}[/input_presigned_urls]",
            "PUT <presigned URL> (generated PNG/WAV, no Theta token)",
            "GET /infer_request/{id} (polling)" },
  spends = "yes, up to the cap (--budget, THETA_MAX_BUDGET_USD, 2.00); " ..
           "a service whose worst case does not fit is skipped (exit 3)",
  run = function(ctx, args)
    return smoke.run(ctx, { services = args.services })
  end,
}
