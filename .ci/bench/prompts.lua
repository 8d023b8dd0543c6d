-- POST short prompts, chosen at random per request, as {"<FIELD>": "..."}: FIELD=prompt for /v1/route (default),
-- FIELD=input for /v1/embeddings. UNIQUE=1 makes every prompt new (a random request number appended), so each request
-- is embedded instead of hitting the embedding cache: what real traffic costs.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local field = os.getenv("FIELD") or "prompt"
local unique = os.getenv("UNIQUE") == "1"
local prompts = {
  "Write a Python function that reverses a string",
  "Translate good morning into Spanish",
  "Summarize this paragraph in one sentence",
  "What is the capital of Canada?",
  "Write a haiku about autumn",
  "Is this review positive or negative? Great phone",
  "Solve 3x + 5 = 20",
  "Extract the dates from this email",
}
-- wrk seeds every thread's random numbers alike on every run: each thread gets a seed of its own, so "new" prompts
-- stay new from run to run and across threads.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
init = function(args)
  math.randomseed(os.time() * 64 + (thread_number or 0))
end
request = function()
  local text = prompts[math.random(#prompts)]
  if unique then text = text .. " (request " .. math.random(1000000000) .. ")" end
  return wrk.format(nil, nil, nil, '{"' .. field .. '": "' .. text .. '"}')
end
