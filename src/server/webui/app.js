// The chat page (index.html): the conversation on screen, its history, attachments and the
// stop button. Everything it says to the server goes through chat_client.js. Model text is
// shown with textContent only, never as HTML.
import {
  ChatError, assistantMessage, audioFormat, requestBody, speedLine, streamChat, userMessage,
} from '/chat_client.js';

const $ = (id) => document.getElementById(id);
const log = $('log'), prompt = $('prompt'), send = $('send'), fileInput = $('file');
const apiKey = $('api-key');

let history = [];        // the messages sent so far, as the API takes them
let attachments = [];    // [{kind, name, mime, bytes}] for the next message
let running = null;      // the AbortController of the reply being streamed

apiKey.value = localStorage.getItem('gemma4-api-key') ?? '';

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function scrollDown() { log.scrollTop = log.scrollHeight; }

async function showModel() {
  try {
    const headers = apiKey.value ? { Authorization: `Bearer ${apiKey.value}` } : {};
    const response = await fetch('/v1/models', { headers });
    const models = await response.json();
    $('model').textContent = models.data?.[0]?.id ?? `(${models.error?.message ?? 'unknown model'})`;
  } catch (e) {
    $('model').textContent = `(server unreachable: ${e.message})`;
  }
}

function showAttachments() {
  const box = $('attached');
  box.replaceChildren();
  attachments.forEach((a, i) => {
    const chip = element('span', '', `${a.kind === 'image' ? '🖼' : '🔊'} ${a.name} `);
    const remove = element('button', '', '×');
    remove.title = 'remove';
    remove.onclick = () => { attachments.splice(i, 1); showAttachments(); };
    chip.append(remove);
    box.append(chip);
  });
}

fileInput.addEventListener('change', async () => {
  for (const file of fileInput.files) {
    const kind = file.type.startsWith('image/') ? 'image' : audioFormat(file.name, file.type) ? 'audio' : null;
    if (!kind) {
      log.append(element('div', 'turn error', `${file.name}: attach images (PNG, JPEG, WebP, GIF, BMP) or audio (WAV, MP3, FLAC, OGG)`));
      continue;
    }
    attachments.push({ kind, name: file.name, mime: file.type, bytes: new Uint8Array(await file.arrayBuffer()) });
  }
  fileInput.value = '';
  showAttachments();
});
$('attach').onclick = () => fileInput.click();

function setRunning(controller) {
  running = controller;
  send.textContent = controller ? 'Stop' : 'Send';
}

async function sendMessage() {
  const text = prompt.value.trim();
  if (!text && attachments.length === 0) return;
  let message;
  try {
    message = userMessage(text, attachments);
  } catch (e) {
    log.append(element('div', 'turn error', e.message));
    return;
  }
  const turn = element('div', 'turn user', text);
  if (attachments.length) turn.prepend(element('div', 'media', attachments.map((a) => a.name).join(', ')));
  log.append(turn);
  prompt.value = '';
  attachments = [];
  showAttachments();

  const answer = element('div', 'turn assistant');
  const thoughts = element('details');
  const thoughtsText = element('div');
  thoughts.append(element('summary', '', 'thinking'), thoughtsText);
  let userOpened = false;  // a fold the user opened stays open
  thoughts.querySelector('summary').addEventListener('click', () => { userOpened = true; });
  const content = element('div');
  const stats = element('div', 'stats');
  answer.append(content, stats);
  log.append(answer);
  scrollDown();

  const controller = new AbortController();
  setRunning(controller);
  const temperature = parseFloat($('temperature').value);
  const maxTokens = parseInt($('max-tokens').value, 10) || undefined;
  const body = requestBody([...history, message], { thinking: $('thinking').checked, temperature, maxTokens });
  let shown = { content: '' };
  try {
    const reply = await streamChat({
      apiKey: apiKey.value, body, signal: controller.signal,
      onDelta: (_, so_far) => {
        shown = so_far;
        if (so_far.reasoning && !thoughts.isConnected) {
          thoughts.open = true;  // open while the model thinks, folded once the answer starts
          answer.prepend(thoughts);
        }
        if (so_far.content && thoughts.open && !userOpened) thoughts.open = false;
        thoughtsText.textContent = so_far.reasoning;
        content.textContent = so_far.content;
        scrollDown();
      },
    });
    for (const call of reply.toolCalls) content.append(element('div', 'stats', `tool call: ${call.name}(${call.arguments})`));
    stats.textContent = speedLine(reply) + (reply.finishReason === 'length' ? ' · stopped at max tokens' : '');
    history.push(message, assistantMessage(reply));
  } catch (e) {
    if (e.name === 'AbortError') {
      stats.textContent = 'stopped';
      // The conversation goes on from what is on screen (unless "New chat" cleared it).
      if (answer.isConnected) history.push(message, assistantMessage(shown));
    } else {
      const hint = e instanceof ChatError && e.status === 401 ? ' (enter the server\'s API key above)' : '';
      answer.append(element('div', 'error', `${e.message}${hint}`));
    }
  } finally {
    setRunning(null);
    scrollDown();
  }
}

send.onclick = () => (running ? running.abort() : sendMessage());
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    if (!running) sendMessage();
  }
});
$('new-chat').onclick = () => {
  running?.abort();
  history = [];
  log.replaceChildren();
  prompt.focus();
};
// A new key is kept for the next visit and tried at once on the model list.
apiKey.addEventListener('change', () => {
  localStorage.setItem('gemma4-api-key', apiKey.value);
  showModel();
});
showModel();
