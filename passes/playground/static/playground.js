// The playground page: a co editor, the IR after any pass, diffs, runs.
// Every answer comes from the server (server.py) as JSON; program text and
// IR text reach the page only through CodeMirror documents and textContent.
import {
  EditorView, basicSetup, EditorState, Compartment, hoverTooltip, keymap, StreamLanguage,
  HighlightStyle, syntaxHighlighting, linter, lintGutter, MergeView, tags,
} from "./codemirror.js";

const $ = (id) => document.getElementById(id);

// -- the languages: co, and the IRs' printed text -------------------------------------

const CO_KEYWORDS = new Set("let rec in if then else spawn yield resume stat".split(" "));

const coLanguage = StreamLanguage.define({
  name: "co",
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match(/^#.*/)) return "comment";
    if (stream.match(/^`(Pending|Done)\b/)) return "atom";
    if (stream.match(/^\d+/)) return "number";
    if (stream.match(/^(true|false)\b/)) return "bool";
    if (stream.match(/^[a-z][A-Za-z0-9_']*/)) return CO_KEYWORDS.has(stream.current()) ? "keyword" : "variableName";
    if (stream.match("\\")) return "keyword";
    if (stream.match(/^(->|==|[-+*<;|.])/)) return "operator";
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: "#" } },
});

// One reading for every IR, plugins' included: what each token looks like.
const IR_KEYWORDS = new Set(("let rec in if then else spawn yield resume stat proc frame body closure call " +
  "dispatch tailcall result main def return while elif not and or lambda for pass").split(" "));
const IR_TYPES = new Set("int bool Fiber".split(" "));

const irLanguage = StreamLanguage.define({
  name: "ir",
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.sol() && stream.match(/^[A-Za-z_][\w.]*:\s*$/)) return "labelName";
    if (stream.match(/^#\w[\w#.]*/)) return "meta";
    if (stream.match(/^# .*/)) return "comment";
    if (stream.match(/^`(Pending|Done)\b/)) return "atom";
    if (stream.match(/^-?\d+/)) return "number";
    if (stream.match(/^(true|false|True|False|None)\b/)) return "bool";
    if (stream.match(/^fp\[-?\d+\]/)) return "atom";
    if (stream.match(/^[A-Za-z_][\w']*/)) {
      const word = stream.current();
      if (IR_KEYWORDS.has(word)) return "keyword";
      if (IR_TYPES.has(word)) return "typeName";
      return /^[A-Z]/.test(word) ? "className" : "variableName";
    }
    if (stream.match(/^(-\[|\]->|->|==|[-+*<;|\\=@])/)) return "operator";
    stream.next();
    return null;
  },
});

const highlight = syntaxHighlighting(HighlightStyle.define([
  { tag: tags.keyword, color: "#7b2fa8", fontWeight: "bold" },
  { tag: tags.comment, color: "#6a737d", fontStyle: "italic" },
  { tag: [tags.number, tags.bool, tags.atom], color: "#005cc5" },
  { tag: tags.operator, color: "#b5520a" },
  { tag: [tags.typeName, tags.className], color: "#22863a" },
  { tag: tags.labelName, color: "#b31d28", fontWeight: "bold" },
  { tag: tags.meta, color: "#6f42c1" },
  { tag: tags.variableName, color: "#1d2329" }, // its own span: a name is a thing to hover
]));

// -- the server ---------------------------------------------------------------------

async function ask(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

function say(text) { $("status").textContent = text; }

// Positions on the wire are [line, UTF-16 column], as CodeMirror counts offsets too.
function toPosition(doc, [line, column]) {
  if (line + 1 > doc.lines) return doc.length;
  const l = doc.line(line + 1);
  return Math.min(l.from + column, l.to);
}
function fromPosition(doc, offset) {
  const l = doc.lineAt(offset);
  return [l.number - 1, offset - l.from];
}

// -- the program editor: diagnostics as underlines, types on hover -------------------

function diagnosticsOf(doc, answer) {
  $("problems").textContent = answer.diagnostics.map((d) => d.rendered).join("");
  const marks = [];
  for (const d of answer.diagnostics) {
    if (d.range === null) continue;
    marks.push({
      from: toPosition(doc, d.range.from), to: toPosition(doc, d.range.to),
      severity: d.severity, message: d.message, source: d.source,
    });
    for (const note of d.notes) {
      marks.push({
        from: toPosition(doc, note.range.from), to: toPosition(doc, note.range.to),
        severity: "info", message: `note: ${note.message} (for: ${d.message})`, source: d.source,
      });
    }
  }
  return marks;
}

const lint = linter(async (view) => {
  const doc = view.state.doc;
  try {
    return diagnosticsOf(doc, await ask("/api/analyze", { text: doc.toString() }));
  } catch (problem) {
    say(problem.message);
    return [];
  }
}, { delay: 300 });

const types = hoverTooltip(async (view, offset) => {
  const doc = view.state.doc;
  const [line, column] = fromPosition(doc, offset);
  let found;
  try {
    found = await ask("/api/hover", { text: doc.toString(), line, column });
  } catch (problem) {
    return null;
  }
  if (found === null || view.state.doc !== doc) return null;
  return {
    pos: toPosition(doc, found.range.from), end: toPosition(doc, found.range.to),
    create() {
      const dom = document.createElement("div");
      dom.className = "cm-type-tooltip";
      dom.textContent = found.text;
      return { dom };
    },
  };
}, { hoverTime: 250 });

const source = new EditorView({
  parent: $("source"),
  state: EditorState.create({
    doc: "",
    extensions: [
      keymap.of([{ key: "Mod-Enter", run: () => { run(); return true; } }]),
      basicSetup, coLanguage, highlight, lint, lintGutter(), types,
      EditorView.updateListener.of((update) => { if (update.docChanged) programChanged(); }),
    ],
  }),
});

function program() { return source.state.doc.toString(); }

function setProgram(text) {
  source.dispatch({ changes: { from: 0, to: source.state.doc.length, insert: text } });
}

// -- the IR pane and the diff pane ----------------------------------------------------

const readOnly = [EditorState.readOnly.of(true), EditorView.editable.of(false)];
const irExtensions = [basicSetup, irLanguage, highlight, ...readOnly];
const irView = new EditorView({ parent: $("ir"), state: EditorState.create({ doc: "", extensions: irExtensions }) });

function show(view, text) {
  if (view.state.doc.toString() !== text) {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  }
}

let passes = [];
let pinned = null; // the program as it was when pinned
let diffView = null;

function chosenPass() { return passes.find((p) => p.name === $("pass").value); }

// The IR after a pass for a text: {text, failed}.
async function irAfter(text, passName) {
  const answer = await ask("/api/ir", { text, pass: passName });
  return answer.error !== undefined ? { text: answer.error, failed: true } : { text: answer.ir, failed: false };
}

let showing = 0; // answers to older questions are dropped
async function refreshPanes() {
  const question = ++showing;
  const pass = chosenPass();
  if (pass === undefined) return;
  const text = program();
  $("pass-summary").textContent = `${pass.input_ir} → ${pass.output_ir ?? "(a checker: no new IR)"}: ${pass.summary}`;
  try {
    if (!$("ir-pane").hidden) {
      const after = await irAfter(text, pass.name);
      if (question !== showing) return;
      show(irView, after.text);
      $("ir").classList.toggle("failed", after.failed);
    } else {
      await refreshDiff(question, text, pass);
    }
  } catch (problem) {
    if (question === showing) say(problem.message);
  }
}

async function refreshDiff(question, text, pass) {
  const byPass = document.querySelector("input[name=diff-mode]:checked").value === "pass";
  let left, right, titles;
  if (byPass) {
    const index = passes.indexOf(pass);
    left = index === 0 ? { text } : await irAfter(text, passes[index - 1].name);
    right = await irAfter(text, pass.name);
    titles = [index === 0 ? "the program" : `after ${passes[index - 1].name}`, `after ${pass.name}`];
  } else if (pinned === null) {
    left = right = { text: "" };
    titles = ["pin a program first", ""];
  } else {
    left = await irAfter(pinned, pass.name);
    right = await irAfter(text, pass.name);
    titles = [`pinned, after ${pass.name}`, `now, after ${pass.name}`];
  }
  if (question !== showing) return;
  $("diff-left").textContent = titles[0];
  $("diff-right").textContent = titles[1] + (titles[1] && left.text === right.text ? " (the same text)" : "");
  if (diffView === null) {
    diffView = new MergeView({
      parent: $("diff"), a: { doc: left.text, extensions: irExtensions }, b: { doc: right.text, extensions: irExtensions },
      collapseUnchanged: { margin: 3, minSize: 6 }, gutter: true,
    });
  } else {
    show(diffView.a, left.text);
    show(diffView.b, right.text);
  }
}

function choosePane(diff) {
  $("ir-pane").hidden = diff;
  $("diff-pane").hidden = !diff;
  $("tab-ir").setAttribute("aria-selected", String(!diff));
  $("tab-diff").setAttribute("aria-selected", String(diff));
  refreshPanes();
}

// -- running ----------------------------------------------------------------------------

let running = false;
async function run() {
  if (running) return;
  running = true;
  $("run").disabled = true;
  $("run-state").textContent = "running…";
  $("run-pane").classList.remove("failed");
  try {
    const outcome = await ask("/api/run", { text: program(), backend: $("backend").value });
    const status = { 0: "done", 1: "compile error", 2: "usage error", 3: "runtime error" }[outcome.status];
    $("run-state").textContent = outcome.status === null ? "stopped" : `${status} (exit status ${outcome.status})`;
    $("run-value").textContent = outcome.stdout.trimEnd() || outcome.stderr.split("\n")[0];
    $("run-output").textContent = `$ ${outcome.command}\n${outcome.stderr}` +
      ($("backend").value !== "vm" ? "(the counts of --stats come from the VM backend)\n" : "");
    $("run-pane").classList.toggle("failed", outcome.status !== 0);
  } catch (problem) {
    $("run-state").textContent = "";
    $("run-value").textContent = problem.message;
    $("run-pane").classList.add("failed");
  } finally {
    running = false;
    $("run").disabled = false;
  }
}

// -- the address: #code=... holds the program (deflated, base64url), and the pass -------

async function pack(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function unpack(code) {
  const binary = atob(code.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return await new Response(stream).text();
}

async function address() {
  const fields = new URLSearchParams({ code: await pack(program()), pass: $("pass").value });
  return `${location.origin}${location.pathname}#${fields}`;
}

async function fromAddress() {
  const fields = new URLSearchParams(location.hash.slice(1));
  if (!fields.has("code")) return false;
  try {
    setProgram(await unpack(fields.get("code")));
  } catch (problem) {
    say("this link's program cannot be read");
    return false;
  }
  if (passes.some((p) => p.name === fields.get("pass"))) $("pass").value = fields.get("pass");
  return true;
}

// The address follows the program and the pass, so a reload or a copied address keeps them.
async function remember() {
  history.replaceState(null, "", await address());
  $("share-link").hidden = true;
}

let settling = null;
function programChanged() {
  clearTimeout(settling);
  settling = setTimeout(() => { refreshPanes(); remember(); }, 300);
}

async function share() {
  const link = await address();
  history.replaceState(null, "", link);
  $("share-link").value = link;
  $("share-link").hidden = false;
  $("share-link").select();
  try {
    await navigator.clipboard.writeText(link);
    say("link copied");
  } catch {
    say("link in the box: copy it");
  }
}

// -- start ---------------------------------------------------------------------------------

async function start() {
  const config = await ask("/api/config");
  passes = config.passes;
  for (const pass of passes) {
    $("pass").append(new Option(`${pass.name} (${pass.output_ir ?? "check"})`, pass.name));
  }
  $("pass").value = passes.some((p) => p.name === "infer") ? "infer" : passes[0].name;
  for (const backend of config.backends) $("backend").append(new Option(backend, backend));
  if (config.backends.includes("vm")) $("backend").value = "vm"; // the VM counts steps (--stats)
  const examples = new Map(config.examples.map((e) => [e.name, e.text]));
  for (const name of examples.keys()) $("examples").append(new Option(name, name));
  $("examples").addEventListener("change", () => {
    if (examples.has($("examples").value)) setProgram(examples.get($("examples").value));
  });
  $("pass").addEventListener("change", () => { refreshPanes(); remember(); });
  $("tab-ir").addEventListener("click", () => choosePane(false));
  $("tab-diff").addEventListener("click", () => choosePane(true));
  for (const radio of document.querySelectorAll("input[name=diff-mode]")) radio.addEventListener("change", refreshPanes);
  $("pin").addEventListener("click", () => {
    pinned = program();
    $("pin-state").textContent = `pinned at ${new Date().toLocaleTimeString()}`;
    refreshPanes();
  });
  $("run").addEventListener("click", run);
  $("share").addEventListener("click", share);
  window.addEventListener("hashchange", async () => { if (await fromAddress()) refreshPanes(); });
  if (!(await fromAddress())) {
    const first = examples.has("fib_fiber") ? "fib_fiber" : [...examples.keys()][0];
    $("examples").value = first;
    setProgram(examples.get(first) ?? "");
  }
  say(`limits: ${config.limits.fuel.toLocaleString("en")} VM steps, ${config.limits.seconds} s per run`);
  document.body.dataset.ready = "true";
}

start().catch((problem) => say(`cannot start: ${problem.message}`));
