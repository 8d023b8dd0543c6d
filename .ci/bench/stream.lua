-- POST one streamed request, as chat completions (FORMAT=chat, default) or Anthropic Messages (FORMAT=messages).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("FORMAT") == "messages" then
  wrk.path = "/v1/messages"
  wrk.body = '{"model": "auto", "max_tokens": 8, "stream": true, "messages": [{"role": "user", "content": "Write a haiku about autumn"}]}'
else
  wrk.path = "/v1/chat/completions"
  wrk.body = '{"model": "auto", "max_tokens": 8, "stream": true, "messages": [{"role": "user", "content": "Write a haiku about autumn"}]}'
end
