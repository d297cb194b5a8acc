// The chat page's side of the conversation, without the page: the messages and request body it
// sends to /v1/chat/completions and the reading of the streamed reply. Served as
// /chat_client.js; the tests (tests/server/node/web_page_test.mjs) import the file the server
// serves and drive a server with it, so what they check is what a browser runs.

// An HTTP error or an error event in the stream, with the server's own message.
export class ChatError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const AUDIO_FORMATS = { wav: 'wav', wave: 'wav', mp3: 'mp3', mpeg: 'mp3', flac: 'flac', ogg: 'ogg', oga: 'ogg' };

// The input_audio format the server accepts for a file ("wav", "mp3", "flac", "ogg"), from its
// name's extension or else its MIME type; null for anything else.
export function audioFormat(name, mime = '') {
  const ext = (name.match(/\.([a-z0-9]+)$/i)?.[1] ?? '').toLowerCase();
  if (AUDIO_FORMATS[ext]) return AUDIO_FORMATS[ext];
  const subtype = (mime.match(/^audio\/(?:x-)?([a-z0-9]+)/i)?.[1] ?? '').toLowerCase();
  return AUDIO_FORMATS[subtype] ?? null;
}

export function base64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

// A user turn: plain text, or (with attachments) the media parts first, then the text, as
// Gemma's own examples order them. attachments: [{kind: 'image' | 'audio', name, mime, bytes}].
export function userMessage(text, attachments = []) {
  if (attachments.length === 0) return { role: 'user', content: text };
  const parts = attachments.map((a) => {
    if (a.kind === 'image') {
      return { type: 'image_url', image_url: { url: `data:${a.mime || 'image/png'};base64,${base64(a.bytes)}` } };
    }
    const format = audioFormat(a.name, a.mime);
    if (!format) throw new ChatError(0, `${a.name}: not an audio format the server reads (WAV, MP3, FLAC, OGG)`);
    return { type: 'input_audio', input_audio: { data: base64(a.bytes), format } };
  });
  if (text) parts.push({ type: 'text', text });
  return { role: 'user', content: parts };
}

// The request for the next reply: streamed, with its token counts at the end.
export function requestBody(messages, { thinking = false, temperature, maxTokens } = {}) {
  const body = {
    model: 'gemma4',
    messages,
    stream: true,
    stream_options: { include_usage: true },
    chat_template_kwargs: { enable_thinking: thinking },
  };
  if (temperature !== undefined && temperature !== null && !Number.isNaN(temperature)) body.temperature = temperature;
  if (maxTokens) body.max_tokens = maxTokens;
  return body;
}

// The data of each server-sent event in a byte stream, as text ("[DONE]" included).
export async function* sseData(stream) {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
        if (data.length) yield data.join('\n');
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

async function errorMessage(response) {
  const text = await response.text();
  try {
    return JSON.parse(text).error?.message ?? text;
  } catch {
    return text || `HTTP ${response.status}`;
  }
}

// Streams one reply. onDelta(delta, reply) runs for every chunk's delta with the reply so far.
// Resolves to {content, reasoning, toolCalls, finishReason, usage, firstTokenMs, totalMs};
// rejects with ChatError (HTTP or stream error) or, when `signal` aborts, fetch's AbortError.
export async function streamChat({ baseUrl = '', apiKey = '', body, signal, onDelta }) {
  const start = performance.now();
  const headers = { 'Content-Type': 'application/json' };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST', headers, body: JSON.stringify(body), signal,
  });
  if (!response.ok) throw new ChatError(response.status, await errorMessage(response));
  const reply = {
    content: '', reasoning: '', toolCalls: [], finishReason: null, usage: null, firstTokenMs: null, totalMs: 0,
  };
  for await (const data of sseData(response.body)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data);
    if (chunk.error) throw new ChatError(chunk.error.code ?? 500, chunk.error.message);
    if (chunk.usage) reply.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (delta.reasoning_content) reply.reasoning += delta.reasoning_content;
      if (delta.content) reply.content += delta.content;
      for (const call of delta.tool_calls ?? []) {
        const known = reply.toolCalls[call.index ?? reply.toolCalls.length] ??= { name: '', arguments: '' };
        if (call.function?.name) known.name += call.function.name;
        if (call.function?.arguments) known.arguments += call.function.arguments;
      }
      if (reply.firstTokenMs === null && (delta.content || delta.reasoning_content || delta.tool_calls)) {
        reply.firstTokenMs = performance.now() - start;
      }
      if (choice.finish_reason) reply.finishReason = choice.finish_reason;
      onDelta?.(delta, reply);
    }
  }
  reply.totalMs = performance.now() - start;
  return reply;
}

// The reply as the history's next turn (its thinking is not sent back, as the chat template
// drops it from earlier turns anyway).
export function assistantMessage(reply) {
  return { role: 'assistant', content: reply.content };
}

// "12 tokens · first token 0.85 s · 9.4 tokens/s" (the rate over the tokens after the first).
export function speedLine(reply) {
  const tokens = reply.usage?.completion_tokens;
  if (!tokens) return '';
  const parts = [`${tokens} token${tokens === 1 ? '' : 's'}`];
  if (reply.firstTokenMs !== null) parts.push(`first token ${(reply.firstTokenMs / 1000).toFixed(2)} s`);
  const decodeMs = reply.totalMs - (reply.firstTokenMs ?? 0);
  if (tokens > 1 && decodeMs > 0) parts.push(`${((tokens - 1) / (decodeMs / 1000)).toFixed(1)} tokens/s`);
  return parts.join(' · ');
}
