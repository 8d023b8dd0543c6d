-- POST /v1/route with short prompts, chosen at random per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
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
  return wrk.format(nil, nil, nil, '{"prompt": "' .. prompts[math.random(#prompts)] .. '"}')
end
