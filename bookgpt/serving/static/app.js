"use strict";
// BookGPT's chat page. Each question goes to POST /v1/chat/completions with `stream: true`; the
// answer is shown piece by piece as the server-sent events arrive, then the provenance that the
// last chunk carries in its `bookgpt` field (book, cited sentence, passage, router weights,
// confidence, or an abstention).

const $ = (selector) => document.querySelector(selector);
const messages = $("#messages");
const form = $("#ask");
const input = $("#question");
const send = $("#send");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const percent = (x) => `${Math.round(x * 100)}%`;

function meter(share) {
  const bar = el("span", "meter");
  const fill = el("span", "fill");
  fill.style.width = percent(Math.max(0, Math.min(1, share)));
  bar.append(fill);
  return bar;
}

function scrollDown() {
  messages.lastElementChild?.scrollIntoView({ block: "end" });
}

// The headers of a request to the API: the API key, when the server wants one and it is given.
function headers() {
  const key = $("#api-key").value.trim();
  const out = { "Content-Type": "application/json" };
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

// The error a failed API request answered with (the server names what was wrong).
async function errorOf(resp) {
  const body = await resp.json().catch(() => ({}));
  return new Error(body.error?.message || `HTTP ${resp.status}`);
}

// The books to pick from, as ticks: none ticked asks the whole shelf.
async function loadBooks() {
  const box = $("#books");
  const note = box.querySelector(".loading");
  box.querySelectorAll("label.book").forEach((label) => label.remove());
  note.textContent = "Loading books…";
  note.hidden = false;
  try {
    const resp = await fetch("/v1/books", { headers: headers() });
    if (!resp.ok) throw await errorOf(resp);
    const { books } = await resp.json();
    note.hidden = true;
    for (const book of books) {
      const label = el("label", "book");
      const tick = el("input");
      tick.type = "checkbox";
      tick.value = book.book_id;
      label.append(tick, el("span", "title", book.title || book.book_id));
      if (book.author) label.append(el("span", "author", book.author));
      box.append(label);
    }
    $("#top-k").max = String(Math.max(1, Math.min(32, books.length)));
  } catch (err) {
    note.textContent = `Could not load the books: ${err.message}`;
    $("#settings").open = true;
  }
}

function numberIn(selector) {
  const value = $(selector).value.trim();
  return value === "" ? undefined : Number(value);
}

// The conversation so far (answered turns only): a follow-up such as "And who wrote it?" is
// routed with the earlier questions by the server.
const conversation = [];
const EARLIER_MESSAGES = 6; // the last three questions and their answers go with a question

// The OpenAI-style request, with BookGPT's own fields (book_ids, top_k, decoding) where chosen.
function requestBody(question) {
  const ticked = [...document.querySelectorAll("#books input:checked")].map((t) => t.value);
  const earlier = conversation.slice(-EARLIER_MESSAGES);
  const body = { model: "bookgpt", messages: [...earlier, { role: "user", content: question }],
                 stream: true };
  if (ticked.length === 1) {
    body.model = `bookgpt/${ticked[0]}`; // one book: its tokens stream as they are written
  } else {
    if (ticked.length > 1) body.book_ids = ticked;
    const topK = numberIn("#top-k");
    if (topK !== undefined) body.top_k = topK;
  }
  const decoding = $("#decoding").value;
  if (decoding) body.decoding = decoding;
  const temperature = numberIn("#temperature");
  if (temperature) body.temperature = temperature;
  const maxTokens = numberIn("#max-tokens");
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  return body;
}

// Server-sent events read from a fetch() body as they arrive: yields each event's data.
async function* events(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart()).join("\n");
      if (data) yield data;
    }
  }
}

function labelled(title, node) {
  const block = el("div", "field");
  block.append(el("h3", "", title), node);
  return block;
}

// The router's weights over the books it asked, with each book's own answer and confidence.
function weightsOf(answer) {
  const list = el("ul", "weights");
  const byBook = new Map(answer.candidates.map((c) => [c.book_id, c]));
  for (const routed of answer.routing) {
    const item = el("li");
    const cand = byBook.get(routed.book_id);
    item.append(el("span", "title", routed.title || routed.book_id), meter(routed.weight),
      el("span", "number", `weight ${percent(routed.weight)}`));
    if (cand && cand.error) item.append(el("span", "failed", `failed: ${cand.error}`));
    else if (cand) item.append(el("span", "number", `confidence ${percent(cand.confidence)}`));
    list.append(item);
  }
  return list;
}

function showProvenance(bot, answer, finish) {
  const text = bot.querySelector(".text");
  const prov = el("div", "provenance");
  if (answer.abstained) {
    bot.classList.add("abstained");
    text.textContent = "Not in these books.";
    // why: routing asked no book (`declined`), or no book was sure enough
    prov.append(el("p", "note", answer.declined
      ? `No book was asked: ${answer.declined}.`
      : "No book on the shelf answers this with enough confidence."));
  } else {
    text.textContent = answer.answer; // the whole answer, as the server finally chose it
    const book = el("p", "book");
    book.append("From ", el("cite", "", answer.title || answer.book_id));
    const confidence = el("p", "confidence");
    confidence.append(`Confidence ${percent(answer.confidence)}`, meter(answer.confidence));
    prov.append(book, confidence);
    if (answer.support) {
      prov.append(labelled("Cited sentence", el("blockquote", "support", answer.support)));
    }
    if (answer.passage) {
      const passage = el("details", "passage");
      passage.append(el("summary", "", "Passage"), el("p", "", answer.passage));
      prov.append(passage);
    }
  }
  if (answer.routing.length) prov.append(labelled("Router weights", weightsOf(answer)));
  if (answer.degraded || finish === "error") {
    prov.append(el("p", "degraded", "Degraded: some books failed or did not answer in time."));
  }
  const t = answer.timings_ms || {};
  if (t.route !== undefined) {
    prov.append(el("p", "timings", `routed in ${t.route.toFixed(1)} ms, answered in ` +
      `${(t.books ?? 0).toFixed(1)} ms`));
  }
  bot.append(prov);
}

async function ask(question) {
  messages.append(el("li", "msg user", question));
  const bot = el("li", "msg bot");
  const text = el("p", "text");
  bot.append(text);
  bot.dataset.state = "streaming";
  bot.dataset.pieces = "0"; // how many pieces arrived: the answer is shown as they come
  messages.append(bot);
  scrollDown();
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(requestBody(question)),
    });
    if (!resp.ok) throw await errorOf(resp);
    for await (const data of events(resp)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const piece = chunk.choices?.[0]?.delta?.content;
      if (piece) {
        text.textContent += piece;
        bot.dataset.pieces = String(Number(bot.dataset.pieces) + 1);
      }
      if (chunk.bookgpt) showProvenance(bot, chunk.bookgpt, chunk.choices?.[0]?.finish_reason);
      scrollDown();
    }
    bot.dataset.state = "done";
    conversation.push({ role: "user", content: question },
                      { role: "assistant", content: text.textContent });
  } catch (err) {
    bot.append(el("p", "error", `Error: ${err.message}`));
    bot.dataset.state = "error";
  }
  scrollDown();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || send.disabled) return;
  input.value = "";
  send.disabled = true;
  try {
    await ask(question);
  } finally {
    send.disabled = false;
    input.focus();
  }
});

// On a phone the settings start folded, leaving the screen to the conversation.
if (window.matchMedia("(max-width: 640px)").matches) $("#settings").open = false;
$("#api-key").addEventListener("change", loadBooks);
loadBooks();
input.focus();
