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

console.log(JSON.stringify(out));
