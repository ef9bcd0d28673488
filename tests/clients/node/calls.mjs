// The openai Node SDK as a script or front end uses it: OPENAI_BASE_URL and OPENAI_API_KEY
// from the environment, every other setting its default (two retries included).
// Prints what it got as one JSON object; tests/clients/test_openai_node.py reads it.
import OpenAI from "openai";

const client = new OpenAI();
const model = process.env.HOMEFIRE_MODEL;
const ask = (content) => [{ role: "user", content }];
const out = {};

out.model = (await client.models.retrieve(model)).id;
try {
  await client.models.retrieve("gpt-4o");
} catch (error) {
  out.missing = { status: error.status, code: error.code };
}

const chat = await client.chat.completions.create({ model, messages: ask("Say hello."), max_tokens: 8 });
out.chat = { text: chat.choices[0].message.content, usage: chat.usage };

const chunks = await client.chat.completions.create({
  model,
  messages: ask("Say hello."),
  max_tokens: 8,
  stream: true,
  stream_options: { include_usage: true },
});
out.chatStream = { text: "", usage: null };
for await (const chunk of chunks) {
  if (chunk.choices.length) out.chatStream.text += chunk.choices[0].delta.content ?? "";
  if (chunk.usage) out.chatStream.usage = chunk.usage;
}

const completion = await client.completions.create({ model, prompt: "1, 2, 3,", max_tokens: 6 });
out.completion = completion.choices[0].text;

const response = await client.responses.create({ model, input: "Say hi.", max_output_tokens: 8 });
out.response = { id: response.id, text: response.output_text, status: response.status };

const events = await client.responses.create({
  model,
  input: "And again.",
  previous_response_id: response.id,
  max_output_tokens: 8,
  stream: true,
});
out.responseStream = { types: [], text: "", final: null };
for await (const event of events) {
  out.responseStream.types.push(event.type);
  if (event.type === "response.output_text.delta") out.responseStream.text += event.delta;
  if (event.type === "response.completed" || event.type === "response.incomplete") {
    const parts = event.response.output.flatMap((item) => item.content ?? []);
    out.responseStream.final = parts.map((part) => part.text).join("");
  }
}

const parallel = await Promise.all(
  Array.from({ length: 8 }, (_, index) =>
    client.chat.completions.create({ model, messages: ask(`Tell story number ${index}.`), max_tokens: 8 }),
  ),
);
out.parallel = parallel.map((reply) => reply.choices[0].finish_reason);

const weather = ask("What is the weather in Paris?");
const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the weather in a city.",
      parameters: {
        type: "object",
        properties: { city: { type: "string", maxLength: 20 } },
        required: ["city"],
      },
    },
  },
];
// One call: within the tests' bound of 48 tokens the tiny model, free to call in parallel,
// sometimes repeats its call until it is cut (finish_reason "length").
const called = await client.chat.completions.create({
  model,
  messages: weather,
  tools,
  tool_choice: "required",
  parallel_tool_calls: false,
});
// One result per call: the model may call more than once (parallel_tool_calls defaults to true).
const results = called.choices[0].message.tool_calls.map((call) => ({
  role: "tool",
  tool_call_id: call.id,
  content: "Sunny, 21 °C.",
}));
const answered = await client.chat.completions.create({
  model,
  messages: [...weather, called.choices[0].message, ...results],
  tools,
  tool_choice: "none",
});
out.tools = {
  finish: called.choices[0].finish_reason,
  calls: called.choices[0].message.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
  final: answered.choices[0].message.content,
  finalCalls: answered.choices[0].message.tool_calls ?? null,
};

// No zod here: a plain json_schema response_format, which .parse() reads with JSON.parse.
const person = {
  type: "object",
  properties: { name: { type: "string", maxLength: 20 }, age: { type: "integer" } },
  required: ["name", "age"],
  additionalProperties: false,
};
const parsed = await client.chat.completions.parse({
  model,
  messages: ask("Invent a person: a name and an age."),
  response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
});
out.parsed = parsed.choices[0].message.parsed;

const scored = await client.chat.completions.create({
  model,
  messages: ask("Say hello."),
  max_tokens: 8,
  logprobs: true,
  top_logprobs: 2,
});
out.logprobs = {
  text: scored.choices[0].message.content,
  tokens: scored.usage.completion_tokens,
  content: scored.choices[0].logprobs.content,
};

const two = await client.chat.completions.create({ model, messages: ask("Tell me a story."), max_tokens: 8, n: 2 });
out.n = two.choices.map((choice) => ({ index: choice.index, text: choice.message.content }));

const embedded = await client.embeddings.create({
  model: process.env.HOMEFIRE_EMBEDDING_MODEL,
  input: ["A man is eating food.", "The new movie is awesome."],
});
out.embeddings = embedded.data.map((item) => ({ index: item.index, length: item.embedding.length }));

console.log(JSON.stringify(out));
