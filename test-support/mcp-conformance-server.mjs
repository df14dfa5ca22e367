// A conformant MCP upstream for the official conformance suite's server
// scenarios (@modelcontextprotocol/conformance): the tools, resources and
// prompts those scenarios call, by the names they use, served over Streamable
// HTTP by the stock SDK on 127.0.0.1: stateful sessions (resumable: each keeps
// its events in the SDK's in-memory event store, so a client resumes a broken
// stream with GET and Last-Event-ID), or with the argument `stateless` the
// SDK's stateless mode (every POST stands alone). Host and
// Origin are checked (DNS-rebinding protection). Prints {"url": ...} on stdout
// once listening. With the argument `stdio` it serves one session on
// stdin/stdout instead (an upstream of the stdio kind).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ErrorCode,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

// 1x1 PNG and a 1-sample WAV: the smallest valid media for content checks.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = Buffer.concat([
  Buffer.from('RIFF'), Buffer.from([38, 0, 0, 0]), Buffer.from('WAVEfmt '),
  Buffer.from([16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0]),
  Buffer.from('data'), Buffer.from([2, 0, 0, 0, 0, 0]),
]).toString('base64');

const noArgs = { type: 'object', properties: {} };
const stringArg = (name, description) => ({ type: 'object', properties: { [name]: { type: 'string', description } }, required: [name] });

const TOOLS = [
  { name: 'test_simple_text', description: 'Returns simple text', inputSchema: noArgs },
  { name: 'test_image_content', description: 'Returns an image', inputSchema: noArgs },
  { name: 'test_audio_content', description: 'Returns audio', inputSchema: noArgs },
  { name: 'test_embedded_resource', description: 'Returns an embedded resource', inputSchema: noArgs },
  { name: 'test_multiple_content_types', description: 'Returns text, image and a resource', inputSchema: noArgs },
  { name: 'test_tool_with_logging', description: 'Logs three messages while running', inputSchema: noArgs },
  { name: 'test_tool_with_progress', description: 'Reports progress 0, 50, 100', inputSchema: noArgs },
  { name: 'test_error_handling', description: 'Always fails', inputSchema: noArgs },
  { name: 'test_reconnection', description: 'Closes its event stream mid-call; the result follows when the client resumes (SEP-1699)', inputSchema: noArgs },
  { name: 'test_sampling', description: 'Asks the client for an LLM completion', inputSchema: stringArg('prompt', 'The prompt') },
  { name: 'test_elicitation', description: 'Asks the user for input', inputSchema: stringArg('message', 'What to ask') },
  { name: 'test_elicitation_sep1034_defaults', description: 'Elicitation with default values', inputSchema: noArgs },
  { name: 'test_elicitation_sep1330_enums', description: 'Elicitation with every enum form', inputSchema: noArgs },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Input schema in JSON Schema 2020-12',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
  },
];

const RESOURCES = [
  { uri: 'test://static-text', name: 'static-text', mimeType: 'text/plain' },
  { uri: 'test://static-binary', name: 'static-binary', mimeType: 'image/png' },
  { uri: 'test://watched-resource', name: 'watched-resource', mimeType: 'text/plain' },
  { uri: 'test://example-resource', name: 'example-resource', mimeType: 'text/plain' },
];

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two arguments',
    arguments: [{ name: 'arg1', description: 'First', required: true }, { name: 'arg2', description: 'Second', required: true }],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt embedding a resource',
    arguments: [{ name: 'resourceUri', description: 'Resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with an image' },
];

const text = (t) => ({ type: 'text', text: t });
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readResource(uri) {
  if (uri === 'test://static-text') return { uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' };
  if (uri === 'test://static-binary') return { uri, mimeType: 'image/png', blob: PNG };
  if (uri === 'test://watched-resource' || uri === 'test://example-resource') return { uri, mimeType: 'text/plain', text: `Content of ${uri}` };
  const templated = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
  if (templated) return { uri, mimeType: 'application/json', text: JSON.stringify({ id: templated[1], templateTest: true, data: `Data for ID: ${templated[1]}` }) };
  throw new McpError(ErrorCode.InvalidParams, `Resource not found: ${uri}`);
}

async function elicit(extra, message, properties) {
  const answer = await extra.sendRequest({ method: 'elicitation/create', params: { message, requestedSchema: { type: 'object', properties } } }, ElicitResultSchema);
  return { content: [text(`Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`)] };
}

const TOOL_HANDLERS = {
  test_simple_text: () => ({ content: [text('This is a simple text response for testing.')] }),
  test_image_content: () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }),
  test_audio_content: () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }),
  test_embedded_resource: () => ({
    content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
  }),
  test_multiple_content_types: () => ({
    content: [
      text('Multiple content types test:'),
      { type: 'image', data: PNG, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
    ],
  }),
  test_tool_with_logging: async (_args, extra) => {
    for (const [i, message] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
      if (i > 0) await pause(50);
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: message } });
    }
    return { content: [text('Tool with logging executed successfully')] };
  },
  test_tool_with_progress: async (_args, extra) => {
    const token = extra._meta?.progressToken;
    for (const [i, progress] of [0, 50, 100].entries()) {
      if (i > 0) await pause(50);
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100 } });
    }
    return { content: [text('Tool with progress executed successfully')] };
  },
  test_error_handling: () => ({ isError: true, content: [text('This tool intentionally returns an error for testing')] }),
  // An event with an id first (the log line), so the client can resume after it even if its
  // protocol version gets no priming event; then the stream closes and the result waits for the resume.
  test_reconnection: async (_args, extra) => {
    await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'Closing the stream: resume it with GET and Last-Event-ID' } });
    extra.closeStream?.();
    await pause(100);
    return { content: [text('Reconnection test completed successfully')] };
  },
  test_sampling: async (args, extra) => {
    const answer = await extra.sendRequest(
      { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: text(String(args.prompt ?? '')) }], maxTokens: 100 } },
      CreateMessageResultSchema,
    );
    return { content: [text(`LLM response: ${answer.content?.type === 'text' ? answer.content.text : JSON.stringify(answer.content)}`)] };
  },
  test_elicitation: async (args, extra) => {
    const answer = await extra.sendRequest(
      {
        method: 'elicitation/create',
        params: {
          message: String(args.message ?? ''),
          requestedSchema: {
            type: 'object',
            properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
            required: ['username', 'email'],
          },
        },
      },
      ElicitResultSchema,
    );
    return { content: [text(`User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`)] };
  },
  test_elicitation_sep1034_defaults: (_args, extra) =>
    elicit(extra, 'Please review your details', {
      name: { type: 'string', default: 'John Doe' },
      age: { type: 'integer', default: 30 },
      score: { type: 'number', default: 95.5 },
      status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', default: true },
    }),
  test_elicitation_sep1330_enums: (_args, extra) =>
    elicit(extra, 'Please choose', {
      untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
      titledSingle: { type: 'string', oneOf: [{ const: 'value1', title: 'First Option' }, { const: 'value2', title: 'Second Option' }] },
      legacyEnum: { type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
      untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
      titledMulti: { type: 'array', items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' }] } },
    }),
  json_schema_2020_12_tool: (args) => ({ content: [text(`Received: ${JSON.stringify(args)}`)] }),
};

/** Tools that send the client a request (sampling, elicitation) and wait for its answer. */
const ASKS_THE_CLIENT = new Set(['test_sampling', 'test_elicitation', 'test_elicitation_sep1034_defaults', 'test_elicitation_sep1330_enums']);

function promptMessages(name, args) {
  switch (name) {
    case 'test_simple_prompt':
      return [{ role: 'user', content: text('This is a simple prompt for testing.') }];
    case 'test_prompt_with_arguments':
      return [{ role: 'user', content: text(`Prompt with arguments: arg1='${args.arg1 ?? ''}', arg2='${args.arg2 ?? ''}'`) }];
    case 'test_prompt_with_embedded_resource': {
      const uri = String(args.resourceUri ?? 'test://example-resource');
      return [
        { role: 'user', content: { type: 'resource', resource: { uri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
        { role: 'user', content: text('Please process the embedded resource above.') },
      ];
    }
    case 'test_prompt_with_image':
      return [{ role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } }, { role: 'user', content: text('Please analyze the image above.') }];
    default:
      throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  }
}

/** `closeStream(requestId)`: closes the event stream a request's messages travel on (resumable sessions only). */
function createServer(closeStream) {
  const server = new Server(
    { name: 'portcullis-conformance-upstream', version: '1.0.0' },
    { capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, logging: {}, completions: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const handler = TOOL_HANDLERS[request.params.name];
    if (handler === undefined) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    // A stateless server never sees the client's answer (it arrives in another POST): fail at once, not at a timeout.
    if (stateless && ASKS_THE_CLIENT.has(request.params.name)) return { isError: true, content: [text('This tool needs a stateful session')] };
    const closeThis = closeStream === undefined ? undefined : () => closeStream(extra.requestId);
    return handler(request.params.arguments ?? {}, { ...extra, _meta: request.params._meta, closeStream: closeThis });
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: 'test://template/{id}/data', name: 'template', mimeType: 'application/json' }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => ({ contents: [readResource(request.params.uri)] }));
  server.setRequestHandler(SubscribeRequestSchema, () => ({}));
  server.setRequestHandler(UnsubscribeRequestSchema, () => ({}));
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => ({ messages: promptMessages(request.params.name, request.params.arguments ?? {}) }));
  server.setRequestHandler(CompleteRequestSchema, () => ({ completion: { values: [], total: 0, hasMore: false } }));
  return server;
}

const stateless = process.argv[2] === 'stateless';
/** The reconnection delay a resumable stream's priming event asks for. */
const RETRY_MS = 200;
const sessions = new Map();
let port = 0;

/** DNS-rebinding protection: only loopback names, on our port, in Host and Origin. */
function trustedHost(req) {
  const local = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const origin = req.headers.origin;
  return local.has(req.headers.host ?? '') && (origin === undefined || local.has(origin.replace(/^https?:\/\//, '')));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function rpcError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

async function handle(req, res) {
  if (!new URL(req.url ?? '/', 'http://x').pathname.startsWith('/mcp')) return rpcError(res, 404, -32601, 'Not found');
  if (!trustedHost(req)) return rpcError(res, 403, -32000, 'Forbidden: Host or Origin not allowed');
  const sessionId = req.headers['mcp-session-id'];
  let body;
  if (req.method === 'POST') {
    try {
      body = await readBody(req);
    } catch {
      return rpcError(res, 400, -32700, 'Parse error');
    }
  }
  if (stateless) {
    if (req.method !== 'POST') return rpcError(res, 405, -32000, 'Method not allowed: this server is stateless');
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close());
    await createServer().connect(transport);
    return transport.handleRequest(req, res, body);
  }
  let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
  if (transport === undefined) {
    if (sessionId !== undefined || req.method !== 'POST' || body?.method !== 'initialize') return rpcError(res, 400, -32000, 'Invalid or missing session ID');
    const session = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(),
      retryInterval: RETRY_MS,
      onsessioninitialized: (id) => sessions.set(id, session),
    });
    session.onclose = () => {
      if (session.sessionId !== undefined) sessions.delete(session.sessionId);
    };
    await createServer((requestId) => session.closeSSEStream(requestId)).connect(session);
    transport = session;
  }
  await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) rpcError(res, 500, -32603, 'Internal error');
  });
});
if (process.argv[2] === 'stdio') {
  await createServer().connect(new StdioServerTransport());
} else {
  httpServer.listen(0, '127.0.0.1', () => {
    port = httpServer.address().port;
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp` })}\n`);
  });
}
const shutdown = () => {
  for (const transport of sessions.values()) void transport.close();
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
