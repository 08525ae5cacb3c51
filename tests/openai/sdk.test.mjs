// The official OpenAI SDK (npm "openai", pinned in tools/openai) against
// Pegasus's OpenAI-compatible surface, as an integrator uses it: the base
// URL <system>/openai/v1, a Pegasus token as the API key, a bot id as the
// model. Run by tests/integration/test_openai.py, which starts the system
// and passes PEGASUS_URL, PEGASUS_TOKEN (chat:send), PEGASUS_LIMITED (a
// token whose plan allows few requests a minute), PEGASUS_BOT (a bot with
// a document saying where the office is) and PEGASUS_OTHER_BOT (another
// workspace's bot). It prints one "ok <name> <detail>" line per check.
import assert from 'node:assert/strict';
import { test } from 'node:test';

// The SDK installed by scripts/tool-install.sh openai (its own lock).
const { default: OpenAI } = await import(
  new URL('../../tools/openai/node_modules/openai/index.mjs', import.meta.url).href
);

const base = process.env.PEGASUS_URL + '/openai/v1';
const bot = process.env.PEGASUS_BOT;
const client = new OpenAI({ apiKey: process.env.PEGASUS_TOKEN, baseURL: base, maxRetries: 0 });

test('models: list and retrieve', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes(bot), `the bot is a model: ${ids}`);
  const m = list.data.find((x) => x.id === bot);
  assert.equal(m.object, 'model');
  assert.equal(typeof m.created, 'number');
  assert.equal(m.owned_by, 'pegasus');
  const one = await client.models.retrieve(bot);
  assert.equal(one.id, bot);
  console.log(`ok models ${ids.length}`);
});

test('chat.completions.create: blocking', async () => {
  const c = await client.chat.completions.create({
    model: bot,
    messages: [
      { role: 'system', content: 'Answer in one sentence.' },
      { role: 'user', content: 'Hello.' },
      { role: 'assistant', content: 'Hello! Ask me about the office.' },
      { role: 'user', content: 'Where is the office?' },
    ],
    temperature: 0.2,
    max_tokens: 200,
    user: 'sdk-test',
  });
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.match(c.choices[0].message.content, /Lisbon/);
  assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
  assert.ok(c.pegasus.citations.length >= 1, 'citations in the extension field');
  console.log(`ok blocking ${JSON.stringify(c.choices[0].message.content)}`);
});

test('chat.completions.create: streamed, with usage', async () => {
  const stream = await client.chat.completions.create({
    model: bot,
    messages: [{ role: 'user', content: 'Where is the office?' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.match(text, /Lisbon/);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0, 'the usage chunk');
  console.log(`ok streamed ${chunks} chunks ${JSON.stringify(text)}`);
});

test('errors come out as the SDK classes', async () => {
  const bad = new OpenAI({ apiKey: 'pgs_notatoken', baseURL: base, maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(
    client.chat.completions.create({ model: process.env.PEGASUS_OTHER_BOT, messages: [{ role: 'user', content: 'Hi' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' && e.param === 'model',
  );
  await assert.rejects(
    client.chat.completions.create({ model: bot, messages: [{ role: 'user', content: 'Hi' }], n: 2 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'n' && e.type === 'invalid_request_error',
  );
  await assert.rejects(
    client.chat.completions.create({
      model: bot,
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools',
  );
  console.log('ok errors');
});

test('a rate limit is a RateLimitError with Retry-After', async () => {
  const limited = new OpenAI({ apiKey: process.env.PEGASUS_LIMITED, baseURL: base, maxRetries: 0 });
  let err = null;
  for (let i = 0; i < 50 && !err; i++) {
    try {
      await limited.models.list();
    } catch (e) {
      err = e;
    }
  }
  assert.ok(err instanceof OpenAI.RateLimitError, `a 429 within 50 requests: ${err}`);
  assert.ok(Number(err.headers.get('retry-after')) > 0);
  assert.equal(err.type, 'rate_limit_error');
  console.log('ok ratelimit');
});
