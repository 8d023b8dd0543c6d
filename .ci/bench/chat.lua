-- POST /v1/chat/completions (non-streamed), model auto or the upstream's own name.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local model = os.getenv("CHAT_MODEL") or "auto"
wrk.body = '{"model": "' .. model .. '", "max_tokens": 8, "messages": [{"role": "user", "content": "Write a haiku about autumn"}]}'
