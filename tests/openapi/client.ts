// A small client of the Pegasus API as an integrator writes one: types
// generated from the served /v1/openapi.json by openapi-typescript (api.d.ts
// beside this file), calls made with openapi-fetch. Compiled with
// tsc --strict (scripts/openapi-check.sh client) and run by
// tests/integration/test_openapi_tools.py: no casts, no non-null assertions,
// no `any` — every field it reads is one the description says is there.
//
//   PEGASUS_BASE_URL  the server URL (the document's servers[0].url)
//   PEGASUS_TOKEN     a token with bots:read, bots:write, conversations:write,
//                     chat:send and usage:read
//
// It creates a bot, adds a document, starts a conversation, sends a message
// and reads the workspace's usage, printing one JSON line per step (ids,
// the answer, the counts) and never the token.
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type ApiError = components["schemas"]["Error"];

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`${name} is not set`);
  return v;
}

function step(name: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ step: name, ...fields }));
}

// The outcome of one call: its data, or a failure naming the call and the
// API's error code (typed by the description's Error schema).
function need<T>(what: string, r: { data?: T; error?: ApiError | undefined; response: Response }): T {
  if (r.data !== undefined) return r.data;
  const code = r.error?.error.code ?? "no error body";
  throw new Error(`${what}: HTTP ${r.response.status} ${code}`);
}

async function main(): Promise<void> {
  const client = createClient<paths, "application/json">({
    baseUrl: env("PEGASUS_BASE_URL"),
    headers: { Authorization: `Bearer ${env("PEGASUS_TOKEN")}` },
  });

  const bot = need(
    "createBot",
    await client.POST("/v1/bots", {
      params: { header: { "Idempotency-Key": randomUUID() } },
      body: { name: "Typed client bot", model: "pegasus-lite", instructions: "Answer from the handbook." },
    }),
  );
  step("createBot", { id: bot.id, object: bot.object, model: bot.model, document_count: bot.document_count });

  const doc = need(
    "createDocument",
    await client.POST("/v1/bots/{bot_id}/documents", {
      params: { path: { bot_id: bot.id } },
      body: {
        title: "Refund policy",
        content:
          "Refunds are issued within 14 days of the return. Gift cards are never refunded.",
        content_type: "text/plain",
      },
    }),
  );
  step("createDocument", { id: doc.id, bot_id: doc.bot_id, chunks: doc.chunks, bytes: doc.bytes });

  const conv = need(
    "createConversation",
    await client.POST("/v1/conversations", { body: { bot_id: bot.id, title: "Refunds" } }),
  );
  step("createConversation", { id: conv.id, bot_id: conv.bot_id, title: conv.title });

  const answer = need(
    "sendMessage",
    await client.POST("/v1/conversations/{conversation_id}/messages", {
      params: { path: { conversation_id: conv.id } },
      body: { content: "How long do refunds take?" },
    }),
  );
  const first = answer.citations[0];
  step("sendMessage", {
    id: answer.id,
    role: answer.role,
    content: answer.content,
    model: answer.model,
    cited: first === undefined ? null : first.document_id,
    output_tokens: answer.usage === null ? null : answer.usage.output_tokens,
  });

  // Usage reaches the numbers within about two seconds: poll for the message.
  const deadline = Date.now() + 20000;
  for (;;) {
    const usage = need("getUsage", await client.GET("/v1/usage", { params: { query: { group_by: "bot" } } }));
    const row = usage.data.find((r) => r.key === bot.id);
    if ((row !== undefined && row.messages >= 1) || Date.now() > deadline) {
      step("getUsage", {
        group_by: usage.group_by,
        bot_requests: row === undefined ? 0 : row.requests,
        bot_messages: row === undefined ? 0 : row.messages,
        total_messages: usage.totals.messages,
      });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
