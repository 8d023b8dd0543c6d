-- POST short prompts, chosen at random per request, as {"<FIELD>": "..."}: FIELD=prompt for /v1/route (default),
-- FIELD=input for /v1/embeddings.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local field = os.getenv("FIELD") or "prompt"
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
request = function()
  return wrk.format(nil, nil, nil, '{"' .. field .. '": "' .. prompts[math.random(#prompts)] .. '"}')
end
