"""Drive the mock with the official `openai` and `anthropic` Python SDKs.

Every check parses the mock's replies through the SDK's own types and stream helpers, so a
wire-format mistake shows up as an SDK error or a wrong value.

Usage:
    cargo build -p glassbox-mock --example mock_server
    python3 -m venv /tmp/mockvenv && /tmp/mockvenv/bin/pip install openai anthropic
    /tmp/mockvenv/bin/python tests/python/sdk_check.py PATH/TO/examples/mock_server

The script starts two mocks on loopback ports (one that accepts any key, one that expects
`sk-test`), runs the checks and prints `N passed, M failed`. It exits 1 when a check fails.
"""

import json
import subprocess
import sys
import traceback

import anthropic
import openai

# Recent SDK releases ship their HTTP client as `httpx2`; older ones use `httpx`.
try:
    import httpx
except ImportError:
    import httpx2 as httpx

CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


def start(binary, *args):
    process = subprocess.Popen([binary, "127.0.0.1:0", *args], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return process, line.removeprefix("listening on ")


def behavior(value):
    return {"extra_headers": {"x-mock-behavior": value}}


CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hello there"},
]
OPENAI_TOOLS = [{"type": "function", "function": {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}}]
ANTHROPIC_TOOLS = [{
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}]
MESSAGES = [{"role": "user", "content": "Hello there [cached]"}]


@check
def chat_completion(oa, an):
    reply = oa.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert reply.choices[0].message.content == "Mock reply to: Hello there", reply
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == 5, reply.usage
    assert reply.usage.completion_tokens == 5
    assert reply.usage.prompt_tokens_details.cached_tokens == 0
    assert reply.usage.completion_tokens_details.reasoning_tokens == 0


@check
def chat_stream_without_usage(oa, an):
    chunks = list(oa.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True))
    assert all(chunk.usage is None for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply to: Hello there", text
    assert chunks[-1].choices[0].finish_reason == "stop"


@check
def chat_stream_with_usage(oa, an):
    chunks = list(oa.chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, stream=True, stream_options={"include_usage": True}
    ))
    assert chunks[-1].choices == [], chunks[-1]
    assert chunks[-1].usage.total_tokens == 10, chunks[-1]
    assert all(chunk.usage is None for chunk in chunks[:-1])


@check
def chat_stream_helper_with_tools(oa, an):
    messages = [{"role": "user", "content": "Please use a tool for Paris"}]
    with oa.chat.completions.stream(
        model="gpt-4o-mini", messages=messages, tools=OPENAI_TOOLS
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "mock"}


@check
def chat_tools(oa, an):
    messages = [{"role": "user", "content": "use a tool"}]
    reply = oa.chat.completions.create(model="gpt-4o", messages=messages, tools=OPENAI_TOOLS)
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"city": "mock"}


@check
def completions(oa, an):
    reply = oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test")
    assert reply.choices[0].text == "Mock reply to: Say this is a test"
    stream = oa.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say this", stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Mock reply to: Say this"
    assert chunks[-1].usage.completion_tokens == 5


@check
def embeddings(oa, an):
    default = oa.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    floats = oa.embeddings.create(
        model="text-embedding-3-small", input="one two", encoding_format="float"
    )
    assert len(default.data) == 2
    assert len(default.data[0].embedding) == 8
    assert default.data[0].embedding == floats.data[0].embedding
    assert abs(sum(x * x for x in floats.data[0].embedding) - 1.0) < 1e-5
    assert default.usage.prompt_tokens == 3
    assert default.usage.total_tokens == 3


@check
def responses(oa, an):
    reply = oa.responses.create(model="gpt-4o", instructions="Be brief.", input="Hi [cached]")
    assert reply.output_text == "Mock reply to: Hi [cached]", reply.output_text
    assert reply.usage.input_tokens == 36, reply.usage
    assert reply.usage.input_tokens_details.cached_tokens == 32
    assert reply.usage.output_tokens_details.reasoning_tokens == 0


@check
def responses_stream(oa, an):
    events = list(oa.responses.create(model="gpt-4o", input="Hello", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    with oa.responses.stream(model="gpt-4o", input="Hello") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Mock reply to: Hello"
    assert final.usage.total_tokens == 5


@check
def openai_models(oa, an):
    ids = [model.id for model in oa.models.list()]
    assert "gpt-4o" in ids, ids
    assert oa.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"


@check
def openai_errors(oa, an):
    cases = [
        ("error=429; retry_after=7", openai.RateLimitError),
        ("error=500", openai.InternalServerError),
        ("error=400", openai.BadRequestError),
        ("error=401", openai.AuthenticationError),
    ]
    for directive, error in cases:
        try:
            oa.chat.completions.create(model="gpt-4o", messages=CHAT, **behavior(directive))
        except error as raised:
            assert raised.body["message"].endswith("(injected by x-mock-behavior)"), raised.body
        else:
            raise AssertionError(f"{directive} raised nothing")


@check
def openai_broken_streams(oa, an):
    try:
        list(oa.chat.completions.create(
            model="gpt-4o", messages=CHAT, stream=True, **behavior("cut_after=3")
        ))
    except (httpx.HTTPError, openai.APIError):
        pass
    else:
        raise AssertionError("cut stream raised nothing")
    try:
        list(oa.chat.completions.create(
            model="gpt-4o", messages=CHAT, stream=True, **behavior("malformed")
        ))
    except json.JSONDecodeError:
        pass
    else:
        raise AssertionError("malformed stream raised nothing")


@check
def messages(oa, an):
    reply = an.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES)
    assert reply.content[0].text == "Mock reply to: Hello there [cached]"
    assert reply.stop_reason == "end_turn"
    usage = reply.usage
    assert (usage.input_tokens, usage.output_tokens) == (3, 6), usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (32, 0), usage


@check
def messages_stream(oa, an):
    with an.messages.stream(model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Mock reply to: Hello there [cached]"
    assert final.usage.output_tokens == 6, final.usage
    assert final.usage.cache_read_input_tokens == 32
    events = list(an.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES, stream=True
    ))
    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"


@check
def messages_tools(oa, an):
    messages = [{"role": "user", "content": "Use a tool for Paris"}]
    reply = an.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=messages, tools=ANTHROPIC_TOOLS
    )
    assert reply.stop_reason == "tool_use"
    assert reply.content[0].input == {"city": "mock"}
    with an.messages.stream(
        model="claude-sonnet-4-5", max_tokens=50, messages=messages, tools=ANTHROPIC_TOOLS
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use"
    assert final.content[0].input == {"city": "mock"}
    assert final.stop_reason == "tool_use"


@check
def count_tokens(oa, an):
    counted = an.messages.count_tokens(
        model="claude-sonnet-4-5", system="You are terse.", messages=MESSAGES
    )
    assert counted.input_tokens == 3 + 3 + 32, counted


@check
def anthropic_models(oa, an):
    models = an.models.list()
    assert models.data[0].type == "model"
    assert models.has_more is False
    assert an.models.retrieve("claude-haiku-4-5").display_name == "Claude Haiku 4.5"


@check
def anthropic_errors(oa, an):
    cases = [
        ("error=429; retry_after=7", anthropic.RateLimitError),
        ("error=500", anthropic.InternalServerError),
        ("error=400", anthropic.BadRequestError),
        ("error=401", anthropic.AuthenticationError),
        ("error=529", anthropic.OverloadedError),
    ]
    for directive, error in cases:
        try:
            an.messages.create(
                model="claude-sonnet-4-5", max_tokens=5, messages=MESSAGES, **behavior(directive)
            )
        except error:
            pass
        else:
            raise AssertionError(f"{directive} raised nothing")


@check
def anthropic_broken_stream(oa, an):
    try:
        with an.messages.stream(
            model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES,
            **behavior("cut_after=4"),
        ) as stream:
            stream.get_final_message()
    except (httpx.HTTPError, anthropic.APIError):
        pass
    else:
        raise AssertionError("cut stream raised nothing")


def check_api_keys(base):
    good_openai = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-test", max_retries=0)
    bad_openai = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-wrong", max_retries=0)
    good_anthropic = anthropic.Anthropic(base_url=base, api_key="sk-test", max_retries=0)
    bad_anthropic = anthropic.Anthropic(base_url=base, api_key="sk-wrong", max_retries=0)

    good_openai.chat.completions.create(model="gpt-4o", messages=CHAT)
    good_anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MESSAGES)
    try:
        bad_openai.chat.completions.create(model="gpt-4o", messages=CHAT)
        raise AssertionError("wrong OpenAI key accepted")
    except openai.AuthenticationError:
        pass
    try:
        bad_anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MESSAGES)
        raise AssertionError("wrong Anthropic key accepted")
    except anthropic.AuthenticationError:
        pass


def main():
    binary = sys.argv[1]
    open_mock, open_base = start(binary)
    keyed_mock, keyed_base = start(binary, "sk-test")
    oa = openai.OpenAI(base_url=f"{open_base}/v1", api_key="sk-any", max_retries=0)
    an = anthropic.Anthropic(base_url=open_base, api_key="sk-any", max_retries=0)

    passed = failed = 0
    named = [(c.__name__, lambda c=c: c(oa, an)) for c in CHECKS]
    named.append(("api_keys", lambda: check_api_keys(keyed_base)))
    try:
        for name, run in named:
            try:
                run()
                passed += 1
                print(f"ok   {name}")
            except Exception:
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
    finally:
        open_mock.terminate()
        keyed_mock.terminate()

    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
