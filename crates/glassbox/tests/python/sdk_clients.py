"""Drives the Glassbox gateway with the official OpenAI and Anthropic Python SDKs.

Each scenario runs twice: straight against the mock provider and through the gateway. The
responses must be the same (ids and request ids aside, which the mock counts up per call). The
script prints one JSON line per scenario with the trace id it sent and what the SDK saw, so
the Rust test can check the recorded spans. Any difference is a failure: the script names the
scenario and exits with status 1.

Usage: sdk_clients.py --gateway http://127.0.0.1:PORT --direct http://127.0.0.1:PORT
"""

import argparse
import json
import secrets
import sys

import anthropic
import openai

IGNORED_KEYS = {"id", "item_id", "created", "created_at", "request_id", "_request_id"}


def strip_ids(value):
    """Removes the fields that differ between two calls to the mock."""
    if isinstance(value, dict):
        return {k: strip_ids(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [strip_ids(v) for v in value]
    return value


def dump(value):
    return strip_ids(value.model_dump(mode="json"))


def new_trace():
    trace_id = secrets.token_hex(16)
    return trace_id, {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


class Run:
    def __init__(self, gateway, direct):
        self.gateway = gateway
        self.direct = direct
        self.results = []

    def openai(self, through):
        base = self.gateway if through else self.direct
        return openai.OpenAI(base_url=f"{base}/v1", api_key="sk-sdk-test-key", max_retries=0)

    def anthropic(self, through):
        base = self.gateway if through else self.direct
        return anthropic.Anthropic(base_url=base, api_key="sk-ant-sdk-test-key", max_retries=0)

    def both(self, name, call, headers=None):
        """Runs `call(client_through_gateway_flag, extra_headers)` both ways and compares."""
        trace_id, trace_headers = new_trace()
        extra = dict(trace_headers)
        extra.update(headers or {})
        extra["x-glassbox-user-id"] = "sdk-user"
        through = call(True, extra)
        direct = call(False, dict(headers or {}))
        if through["answer"] != direct["answer"]:
            fail(name, f"through the gateway:\n{through['answer']}\ndirect:\n{direct['answer']}")
        self.results.append({"scenario": name, "trace_id": trace_id, **through["seen"]})


def fail(name, message):
    print(f"scenario {name} failed: {message}", file=sys.stderr)
    sys.exit(1)


MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Tell me about the gateway"},
]
TOOLS = [{
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}]


def openai_scenarios(run):
    def chat(through, headers):
        answer = run.openai(through).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers)
        usage = answer.usage
        return {"answer": dump(answer), "seen": {
            "input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
            "text": answer.choices[0].message.content}}

    run.both("openai_chat", chat)

    def chat_stream(through, headers):
        chunks = list(run.openai(through).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=headers))
        if any(chunk.usage is not None for chunk in chunks):
            fail("openai_chat_stream", "a chunk carries usage the client did not ask for")
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return {"answer": [dump(c) for c in chunks], "seen": {"text": text}}

    run.both("openai_chat_stream", chat_stream)

    def chat_stream_usage(through, headers):
        chunks = list(run.openai(through).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}, extra_headers=headers))
        usage = chunks[-1].usage
        return {"answer": [dump(c) for c in chunks], "seen": {
            "input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}}

    run.both("openai_chat_stream_usage", chat_stream_usage)

    def tool_stream(through, headers):
        chunks = list(run.openai(through).chat.completions.create(
            model="gpt-4o", stream=True, tools=TOOLS, extra_headers=headers,
            messages=[{"role": "user", "content": "Please use a tool for Paris"}]))
        arguments = "".join(
            c.choices[0].delta.tool_calls[0].function.arguments or ""
            for c in chunks if c.choices and c.choices[0].delta.tool_calls)
        return {"answer": [dump(c) for c in chunks], "seen": {"tool_arguments": arguments}}

    run.both("openai_tool_stream", tool_stream)

    def embeddings(through, headers):
        answer = run.openai(through).embeddings.create(
            model="text-embedding-3-small", input=["first text", "second one"],
            extra_headers=headers)
        return {"answer": dump(answer), "seen": {
            "input_tokens": answer.usage.prompt_tokens, "vectors": len(answer.data)}}

    run.both("openai_embeddings", embeddings)

    def completions(through, headers):
        answer = run.openai(through).completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Once upon a time", extra_headers=headers)
        return {"answer": dump(answer), "seen": {
            "input_tokens": answer.usage.prompt_tokens,
            "output_tokens": answer.usage.completion_tokens}}

    run.both("openai_completions", completions)

    def responses(through, headers):
        answer = run.openai(through).responses.create(
            model="gpt-4.1", instructions="Be brief", input="Hello responses",
            extra_headers=headers)
        return {"answer": dump(answer), "seen": {
            "input_tokens": answer.usage.input_tokens,
            "output_tokens": answer.usage.output_tokens, "text": answer.output_text}}

    run.both("openai_responses", responses)

    def responses_stream(through, headers):
        events = list(run.openai(through).responses.create(
            model="gpt-4.1", input="Hello streamed responses", stream=True,
            extra_headers=headers))
        final = events[-1].response
        return {"answer": [dump(e) for e in events], "seen": {
            "input_tokens": final.usage.input_tokens,
            "output_tokens": final.usage.output_tokens, "text": final.output_text}}

    run.both("openai_responses_stream", responses_stream)

    def models(through, headers):
        listed = run.openai(through).models.list(extra_headers=headers)
        return {"answer": [dump(m) for m in listed.data], "seen": {}}

    run.both("openai_models", models)

    def rate_limited(through, headers):
        try:
            run.openai(through).chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers)
        except openai.RateLimitError as error:
            body = strip_ids(error.body)
            return {"answer": [error.status_code, body,
                               error.response.headers.get("retry-after")],
                    "seen": {"status": error.status_code}}
        fail("openai_rate_limited", "no RateLimitError")

    run.both("openai_rate_limited", rate_limited,
             headers={"x-mock-behavior": "error=429; retry_after=3"})


def anthropic_scenarios(run):
    request = {
        "model": "claude-sonnet-4-5", "max_tokens": 200, "system": "Context [cached]",
        "messages": [{"role": "user", "content": "Summarize the quarterly report"}],
    }

    def message(through, headers):
        answer = run.anthropic(through).messages.create(**request, extra_headers=headers)
        usage = answer.usage
        return {"answer": dump(answer), "seen": {
            "input_tokens": usage.input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "output_tokens": usage.output_tokens, "text": answer.content[0].text}}

    run.both("anthropic_message", message)

    def message_stream(through, headers):
        with run.anthropic(through).messages.stream(**request, extra_headers=headers) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        return {"answer": [text, dump(final)], "seen": {
            "input_tokens": final.usage.input_tokens,
            "cache_read_input_tokens": final.usage.cache_read_input_tokens,
            "output_tokens": final.usage.output_tokens, "text": text}}

    run.both("anthropic_message_stream", message_stream)

    def tool_stream(through, headers):
        tools = [{"name": "weather", "input_schema": {
            "type": "object", "properties": {"city": {"type": "string"}}}}]
        with run.anthropic(through).messages.stream(
                model="claude-sonnet-4-5", max_tokens=200, tools=tools, extra_headers=headers,
                messages=[{"role": "user", "content": "Please use a tool now"}]) as stream:
            final = stream.get_final_message()
        tool = next(block for block in final.content if block.type == "tool_use")
        return {"answer": dump(final), "seen": {"tool_input": tool.input}}

    run.both("anthropic_tool_stream", tool_stream)

    def count(through, headers):
        answer = run.anthropic(through).messages.count_tokens(
            model="claude-haiku-4-5", extra_headers=headers,
            messages=[{"role": "user", "content": "count these four words"}])
        return {"answer": dump(answer), "seen": {"counted": answer.input_tokens}}

    run.both("anthropic_count_tokens", count)

    def models(through, headers):
        listed = run.anthropic(through).models.list(extra_headers=headers)
        return {"answer": [dump(m) for m in listed.data], "seen": {}}

    run.both("anthropic_models", models)

    def overloaded(through, headers):
        try:
            run.anthropic(through).messages.create(**request, extra_headers=headers)
        except anthropic.InternalServerError as error:
            return {"answer": [error.status_code, strip_ids(error.body)],
                    "seen": {"status": error.status_code}}
        fail("anthropic_server_error", "no InternalServerError")

    run.both("anthropic_server_error", overloaded, headers={"x-mock-behavior": "error=500"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--direct", required=True)
    args = parser.parse_args()
    run = Run(args.gateway.rstrip("/"), args.direct.rstrip("/"))
    openai_scenarios(run)
    anthropic_scenarios(run)
    for result in run.results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
