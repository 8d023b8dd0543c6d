"""Drives Pointsman's MCP server with the official `mcp` Python client and prints what it saw as one JSON object.

Usage:
  mcp_client_check.py stdio CATALOG SLOW_MODEL -- COMMAND [ARGS...]   launch `pointsman mcp` over stdio
  mcp_client_check.py http  CATALOG SLOW_MODEL URL [API_KEY]          connect to `pointsman serve` at URL (/mcp)

SLOW_MODEL is a catalog alias whose upstream streams slowly: an `ask` to it is cancelled after its first progress
notification. CATALOG is the catalog file the server watches: it is rewritten at the end to trigger a reload, and the
script waits for the tools list-changed notification. The Swift tests assert on the printed JSON.
"""
import asyncio
import json
import sys

import anyio
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client


async def exercise(session, catalog_path, slow_model, changed, updated):
    out = {}
    init = await session.initialize()
    out["server"] = init.serverInfo.name
    out["capabilities"] = {"tools_list_changed": bool(init.capabilities.tools and init.capabilities.tools.listChanged),
                           "resources_subscribe": bool(init.capabilities.resources and init.capabilities.resources.subscribe)}
    tools = (await session.list_tools()).tools
    out["tools"] = sorted(t.name for t in tools)
    ask_tool = next(t for t in tools if t.name == "ask")
    out["ask_models"] = ask_tool.inputSchema["properties"]["model"]["enum"]

    r = await session.call_tool("route", {"prompt": "Write a Python function that reverses a linked list"})
    out["route"] = {"error": r.isError, "structured": r.structuredContent, "text": r.content[0].text}
    r = await session.call_tool("route", {"messages": [{"role": "user", "content": "Translate 'good morning' into Spanish"}],
                                          "quality": "economy"})
    out["route_messages"] = {"error": r.isError, "structured": r.structuredContent}

    progress = []

    async def on_progress(value, total, message):
        progress.append({"progress": value, "total": total, "message": message})

    r = await session.call_tool("ask", {"prompt": "Name three colours of the rainbow.", "max_tokens": 24}, progress_callback=on_progress)
    out["ask"] = {"error": r.isError, "text": r.content[0].text if r.content else "", "structured": r.structuredContent,
                  "progress": progress[:]}
    r = await session.call_tool("ask", {"prompt": "What is 2 + 2?", "capability": "math", "max_tokens": 8})
    out["ask_capability"] = {"error": r.isError, "structured": r.structuredContent}

    progress.clear()
    r = await session.call_tool("pipeline", {"task": "Explain what a hash map is, then show a tiny Python example", "steps": 2,
                                             "max_tokens": 24}, progress_callback=on_progress)
    out["pipeline"] = {"error": r.isError, "structured": r.structuredContent, "progress": progress[:]}

    r = await session.call_tool("compare", {"prompt": "Summarize this article in two sentences: the council met on Tuesday."})
    out["compare"] = {"error": r.isError, "structured": r.structuredContent}

    # Bad input: each is a tool error with a clear text, and the server keeps answering.
    bad = {}
    for name, arguments in [("route", {"prompt": 42}), ("route", {}), ("ask", {"prompt": "hi", "model": "no-such-model"}),
                            ("ask", {"prompt": "hi", "max_tokens": "many"}), ("pipeline", {"task": "   "}),
                            ("route", {"prompt": "hi", "colour": "blue"}), ("no_such_tool", {"prompt": "hi"})]:
        r = await session.call_tool(name, arguments)
        bad[f"{name} {json.dumps(arguments, sort_keys=True)}"] = {"error": r.isError, "text": r.content[0].text if r.content else ""}
    out["bad"] = bad

    resources = (await session.list_resources()).resources
    out["resources"] = sorted(str(x.uri) for x in resources)
    catalog = json.loads((await session.read_resource("pointsman://catalog")).contents[0].text)
    out["catalog_models"] = [m["alias"] for m in catalog["models"]]
    out["centroids"] = json.loads((await session.read_resource("pointsman://centroids")).contents[0].text)
    out["decisions"] = json.loads((await session.read_resource("pointsman://decisions")).contents[0].text)
    try:
        await session.read_resource("pointsman://nothing-here")
        out["unknown_resource"] = None
    except Exception as error:  # an MCP error response
        out["unknown_resource"] = str(error)

    # Cancellation: start a long ask, cancel it after its first progress notification.
    started = anyio.Event()

    async def on_slow_progress(value, total, message):
        if message.startswith("asking"):
            started.set()

    request_id = session._request_id  # the id the next request gets
    result = {}

    async def slow_call():
        try:
            result["r"] = await session.call_tool("ask", {"prompt": "Write a very long story", "model": slow_model, "max_tokens": 2000},
                                                  progress_callback=on_slow_progress)
        except Exception as error:
            result["error"] = str(error)

    async with anyio.create_task_group() as group:
        group.start_soon(slow_call)
        with anyio.fail_after(30):
            await started.wait()
        await anyio.sleep(0.5)
        await session.send_notification(types.ClientNotification(types.CancelledNotification(
            params=types.CancelledNotificationParams(requestId=request_id, reason="the user changed their mind"))))
        await anyio.sleep(1.0)
        group.cancel_scope.cancel()
    out["cancelled_call_error"] = result.get("error")
    r = await session.call_tool("route", {"prompt": "What is the capital of France?"})
    out["after_cancel"] = {"error": r.isError, "text": r.content[0].text}

    # Hot reload: rewrite the catalog with one model fewer; the server says its tool list changed, and that the
    # catalog resource (subscribed) was updated.
    await session.subscribe_resource("pointsman://catalog")
    with open(catalog_path) as f:
        data = json.load(f)
    removed = next(m["alias"] for m in data["models"] if m["alias"] != data["default_model"] and m["alias"] != slow_model)
    for m in data["models"]:
        m["fallbacks"] = [a for a in m.get("fallbacks", []) if a != removed]
    data["models"] = [m for m in data["models"] if m["alias"] != removed]
    if data.get("escalation", {}).get("target") == removed:
        data.pop("escalation")
    with open(catalog_path, "w") as f:
        json.dump(data, f)
    try:
        with anyio.fail_after(15):
            await changed.wait()
            await updated.wait()
        out["list_changed"] = True
    except TimeoutError:
        out["list_changed"] = False
    out["catalog_updated"] = updated.is_set()
    tools = (await session.list_tools()).tools
    out["removed"] = removed
    out["ask_models_after"] = next(t for t in tools if t.name == "ask").inputSchema["properties"]["model"]["enum"]
    return out


async def main():
    mode, catalog_path, slow_model = sys.argv[1], sys.argv[2], sys.argv[3]
    changed, updated = anyio.Event(), anyio.Event()

    async def on_message(message):
        if isinstance(message, types.ServerNotification) and isinstance(message.root, types.ToolListChangedNotification):
            changed.set()
        if (isinstance(message, types.ServerNotification) and isinstance(message.root, types.ResourceUpdatedNotification)
                and str(message.root.params.uri) == "pointsman://catalog"):
            updated.set()

    if mode == "stdio":
        command = sys.argv[sys.argv.index("--") + 1:]
        params = StdioServerParameters(command=command[0], args=command[1:])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as session:
                out = await exercise(session, catalog_path, slow_model, changed, updated)
    else:
        url = sys.argv[4]
        headers = {"Authorization": f"Bearer {sys.argv[5]}"} if len(sys.argv) > 5 else None
        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            async with ClientSession(read, write, message_handler=on_message) as session:
                out = await exercise(session, catalog_path, slow_model, changed, updated)
    print(json.dumps(out))


asyncio.run(main())
