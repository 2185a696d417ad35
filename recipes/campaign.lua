-- campaign: write, check, illustrate and schedule a series of posts from
-- a campaign file (docs/campaigns.md): facts -> copy (an on-demand LLM)
-- -> claim check -> image (flux) -> a slot in your Threads backend.
--
--   clawhost run campaign --file spring.json --dry-run    the plan
--   clawhost run campaign --file spring.json              run it
--   clawhost run campaign --file spring.json --status     where it stands
--   clawhost run campaign --file spring.json --review --drafts drafts.md
--   clawhost run campaign --file spring.json --approve villa-azur
local campaign = require "campaign"

return {
  group = "Campaigns",
  description = "Write, claim-check, illustrate and schedule posts " ..
                "from a campaign file (resumable, one budget)",
  params = campaign.params,
  calls = { "GET ondemand .../service/list (prices)",
            "POST ondemand .../infer_request/... (copy, image)",
            "POST {THREADS_FASTAPI_BASE_URL}/api/v1/threads/publish" },
  spends = "yes: the copy model's tokens and one image per item, " ..
           "reserved under the campaign's budget_usd",
  run = function(ctx, args)
    return campaign.run(ctx, args)
  end,
}
