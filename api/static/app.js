// The auditors' page: plain JavaScript, no build step, no dependency.
//
// Routes live in the URL's "#" part:
//   #/                       publishers and the latest events
//   #/artifact/0x<64 hex>    verdict table, records, lineage graph, history timeline
//   #/file/<64 hex>          the artifacts that contain a file with this SHA-256
//   #/publisher/0x<40 hex>   a publisher's records and history
//
// Every value that comes from the API is put in the page as text (textContent,
// text nodes, setAttribute on plain attributes); links are built only from
// values that matched the hex patterns below. Nothing uses innerHTML.
"use strict";

(() => {
  const API = "v1/";
  const SUBJECT = /^0x[0-9a-fA-F]{64}$/;
  const FILE_DIGEST = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
  const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const KINDS = { 0: "model", 1: "dataset", 2: "other", 3: "evaluation" };
  const USES = ["commercial", "non-commercial", "research"];
  const RELATIONS = { derivedFrom: "derived from" };
  const EVENT_NAMES = [
    "RecordRegistered",
    "BatchAnchored",
    "BatchedRecordProven",
    "RecordRevoked",
    "RecordSuperseded",
    "RecordEndorsed",
    "RecordDisputed",
  ];

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, title, detail) {
      super(detail ? `${title}: ${detail}` : title);
      this.status = status;
      this.title = title;
      this.detail = detail;
    }
  }

  function problemText(value) {
    if (typeof value === "string") return value;
    if (Array.isArray(value)) {
      // FastAPI's validation errors: [{loc, msg, ...}]
      return value.map((item) => (item && typeof item.msg === "string" ? item.msg : JSON.stringify(item))).join("; ");
    }
    return value === undefined || value === null ? "" : JSON.stringify(value);
  }

  async function api(path) {
    let response;
    try {
      response = await fetch(API + path, { headers: { Accept: "application/json, application/problem+json" } });
    } catch (err) {
      throw new ApiError(0, "The verifier service cannot be reached", String((err && err.message) || err));
    }
    const type = response.headers.get("content-type") || "";
    let body = null;
    if (type.includes("json")) {
      try {
        body = await response.json();
      } catch (err) {
        body = null;
      }
    }
    if (!response.ok) {
      const title = (body && typeof body.title === "string" && body.title) || response.statusText || "Request failed";
      const detail = body ? problemText(body.detail) : "";
      throw new ApiError(response.status, `${title} (HTTP ${response.status})`, detail);
    }
    if (body === null) throw new ApiError(response.status, "Unexpected answer", `no JSON from ${API + path}`);
    showIndex(pick(body, "index"));
    return body;
  }

  // The freshness line under the search box, from the `index` block of the latest answer.
  function showIndex(info) {
    const line = document.getElementById("index-status");
    if (!line || !info || typeof info !== "object") return;
    const synced = pick(info, "syncedTo");
    const head = pick(info, "head");
    const parts = [];
    parts.push(synced === undefined ? "Index not synced yet" : `Index synced to block ${synced}`);
    if (head !== undefined) parts.push(`chain head ${head}`);
    const lag = pick(info, "lag");
    if (lag !== undefined) parts.push(`${lag} block${lag === 1 ? "" : "s"} behind`);
    const confirmations = pick(info, "confirmations");
    if (confirmations) parts.push(`${confirmations} confirmations`);
    const chain = pick(info, "chainId");
    if (chain !== undefined) parts.push(`chain ${chain}`);
    const registry = pick(info, "registry");
    if (registry !== undefined) parts.push(`registry ${registry}`);
    line.textContent = parts.join(" · ");
    const down = pick(info, "chainReachable") === false;
    line.classList.toggle("stale", down);
    if (down) line.append(" · the Ethereum node does not answer: what is shown may be out of date");
    line.hidden = false;
  }

  // ------------------------------------------------------------------ helpers

  function pick(obj, ...names) {
    if (!obj || typeof obj !== "object") return undefined;
    for (const name of names) if (obj[name] !== undefined && obj[name] !== null) return obj[name];
    return undefined;
  }

  function listOf(body, ...names) {
    if (Array.isArray(body)) return body;
    const value = pick(body, ...names);
    return Array.isArray(value) ? value : [];
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function short(hex) {
    const text = String(hex);
    return text.length > 22 ? `${text.slice(0, 10)}…${text.slice(-8)}` : text;
  }

  // A hex value shown short, whole in its tooltip and in the clipboard when selected.
  function hexCode(value) {
    if (value === undefined || value === null || value === "") return h("span", { class: "muted" }, "—");
    return h("code", { class: "hex", title: String(value) }, short(value));
  }

  function artifactLink(subject, text) {
    if (!SUBJECT.test(String(subject))) return hexCode(subject);
    return h("a", { href: `#/artifact/${String(subject).toLowerCase()}`, title: String(subject) }, text || h("code", {}, short(subject)));
  }

  function publisherLink(address) {
    if (!ADDRESS.test(String(address))) return hexCode(address);
    return h("a", { href: `#/publisher/${address}`, title: String(address) }, h("code", {}, short(address)));
  }

  function kindName(kind) {
    if (kind === undefined || kind === null) return "unknown";
    return KINDS[kind] || String(kind).toLowerCase();
  }

  function formatTime(value) {
    if (value === undefined || value === null || value === "") return "time unknown";
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(String(value));
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function errorBox(err) {
    const title = err instanceof ApiError ? err.title : "Something went wrong in the page";
    const detail = err instanceof ApiError ? err.detail : String((err && err.message) || err);
    return h("div", { class: "error", role: "alert" }, h("strong", {}, title), detail ? h("span", {}, ` — ${detail}`) : null);
  }

  function section(id, title, ...extra) {
    const body = h("div", { class: "section-body" }, h("p", { class: "muted loading" }, "Loading…"));
    const el = h("section", { id, class: "panel" }, h("h2", {}, title, ...extra), body);
    return { el, body };
  }

  function fill(body, ...children) {
    body.replaceChildren();
    append(body, children);
  }

  // An answer of the API, or `fallback` when it says 404 (nothing indexed under that key).
  async function apiOr404(path, fallback) {
    try {
      return await api(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return fallback;
      throw err;
    }
  }

  // Thrown when a newer request took over a section: its result is dropped.
  class Superseded extends Error {}

  // Loads one section; a failure shows in that section only.
  async function load(target, work) {
    try {
      const content = await work();
      fill(target, content);
    } catch (err) {
      if (!(err instanceof Superseded)) fill(target, errorBox(err));
    }
  }

  function table(headers, rows, className) {
    return h(
      "table",
      { class: className || "" },
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows),
    );
  }

  function details(obj) {
    if (!obj || typeof obj !== "object") return null;
    const entries = Object.entries(obj).filter(([, v]) => v !== null && v !== undefined && v !== "");
    if (!entries.length) return null;
    return h(
      "dl",
      { class: "details" },
      entries.map(([key, value]) => [
        h("dt", {}, key),
        h("dd", {}, detailValue(key, value)),
      ]),
    );
  }

  function detailValue(key, value) {
    if (key === "kind" && KINDS[value]) return KINDS[value];
    if (Array.isArray(value)) {
      if (!value.length) return h("span", { class: "muted" }, "none");
      return value.map((item) => h("div", {}, key === "parents" ? artifactLink(item, h("code", {}, String(item))) : detailValue("", item)));
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  // ------------------------------------------------------------------ search and routing

  const view = () => document.getElementById("view");
  let generation = 0; // a newer route makes older, still loading, sections drop their results

  function classify(text) {
    const value = text.trim();
    if (SUBJECT.test(value)) return `#/artifact/${value.toLowerCase()}`;
    const file = FILE_DIGEST.exec(value);
    if (file) return `#/file/${file[1].toLowerCase()}`;
    if (ADDRESS.test(value)) return `#/publisher/${value}`;
    return null;
  }

  function onSearch(event) {
    event.preventDefault();
    const input = document.getElementById("q");
    const message = document.getElementById("search-error");
    const target = classify(input.value);
    if (!target) {
      message.textContent =
        "Enter a subject (0x followed by 64 hex digits), a file's SHA-256 (64 hex digits) " +
        "or a publisher address (0x followed by 40 hex digits).";
      message.hidden = false;
      return;
    }
    message.hidden = true;
    if (location.hash === target) route();
    else location.hash = target;
  }

  function route() {
    generation += 1;
    document.getElementById("search-error").hidden = true;
    let hash = location.hash.replace(/^#\/?/, "");
    try {
      hash = decodeURIComponent(hash);
    } catch (err) {
      // a malformed %-escape: shown below as an unknown page
    }
    const [path, query] = hash.split("?");
    const [what, value] = path.split("/");
    const params = new URLSearchParams(query || "");
    const main = view();
    main.replaceChildren();
    if (what === "artifact" && SUBJECT.test(value)) artifactView(main, value.toLowerCase(), params);
    else if (what === "file" && /^[0-9a-fA-F]{64}$/.test(value)) fileView(main, value.toLowerCase());
    else if (what === "publisher" && ADDRESS.test(value)) publisherView(main, value);
    else if (!what) homeView(main);
    else append(main, [h("div", { class: "error", role: "alert" }, h("strong", {}, "Unknown page"), ` — nothing is shown at #${hash}.`), homeLink()]);
    document.getElementById("q").value = what && value ? value : "";
    window.scrollTo(0, 0);
  }

  function homeLink() {
    return h("p", {}, h("a", { href: "#/" }, "← Back to the overview"));
  }

  function guarded(work) {
    const mine = generation;
    return async () => {
      const result = await work();
      if (mine !== generation) throw new Superseded();
      return result;
    };
  }

  // ------------------------------------------------------------------ home

  function homeView(main) {
    document.title = "Provenance ledger · auditor view";
    const intro = h(
      "section",
      { class: "intro" },
      h("h1", {}, "Audit AI models and datasets"),
      h(
        "p",
        {},
        "Search by an artifact's subject to see its verdict, its lineage and every event about it; ",
        "by a file's SHA-256 to find the artifacts that contain it; or by a publisher's address.",
      ),
    );
    const publishers = section("publishers", "Publishers");
    const kindSelect = h(
      "select",
      { id: "event-kind", "aria-label": "Event kind" },
      h("option", { value: "" }, "all events"),
      EVENT_NAMES.map((name) => h("option", { value: name }, name)),
    );
    const events = section("events", "Latest events ", kindSelect);
    kindSelect.addEventListener("change", () => {
      const kind = kindSelect.value;
      eventsPage(events.body, kind ? `limit=20&kind=${encodeURIComponent(kind)}` : "limit=20");
    });
    append(main, [intro, publishers.el, events.el]);
    load(publishers.body, guarded(async () => {
      const list = listOf(await api("publishers"), "publishers", "items");
      if (!list.length) return h("p", { class: "muted" }, "No publisher has registered a record yet.");
      return table(
        ["Address", "Records", "Revoked", "First block", "Last block"],
        list.map((p) =>
          h(
            "tr",
            {},
            h("td", {}, publisherLink(pick(p, "address", "publisher"))),
            h("td", { class: "num" }, pick(p, "records", "recordCount") ?? "—"),
            h("td", { class: "num" }, pick(p, "revoked", "revokedCount") ?? "—"),
            h("td", { class: "num" }, pick(p, "firstBlock", "first_block") ?? "—"),
            h("td", { class: "num" }, pick(p, "lastBlock", "last_block") ?? "—"),
          ),
        ),
      );
    }));
    eventsPage(events.body, "limit=20");
  }

  let eventsRequests = 0; // a newer choice of event kind drops the answer to an older one

  function eventsPage(target, query) {
    const list = h("ol", { class: "timeline" });
    const more = h("p", {});
    const mine = ++eventsRequests;
    load(target, guarded(async () => {
      await appendEvents(list, more, query, query);
      if (mine !== eventsRequests) throw new Superseded();
      return [list.childElementCount ? list : h("p", { class: "muted" }, "No event indexed yet."), more];
    }));
  }

  // `base` is the first page's query; older pages add the cursor to it.
  async function appendEvents(list, more, query, base) {
    const body = await api(`events?${query}`);
    for (const item of listOf(body, "items", "events")) list.append(timelineItem(item, true));
    more.replaceChildren();
    const cursor = pick(body, "nextCursor", "next_cursor");
    if (cursor) {
      const button = h("button", { type: "button", class: "secondary" }, "Older events");
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await appendEvents(list, more, `${base}&cursor=${encodeURIComponent(cursor)}`, base);
        } catch (err) {
          more.replaceChildren(errorBox(err));
        }
      });
      more.append(button);
    }
  }

  // ------------------------------------------------------------------ artifact

  function artifactView(main, subject, params) {
    document.title = `Artifact ${short(subject)} · Provenance ledger`;
    const use = USES.includes(params.get("use")) ? params.get("use") : "commercial";
    append(main, [
      h("h1", {}, "Artifact ", h("code", { class: "subject", id: "subject" }, subject)),
    ]);
    const useSelect = h(
      "select",
      { id: "use", "aria-label": "Intended use" },
      USES.map((u) => h("option", { value: u, selected: u === use }, `for ${u} use`)),
    );
    useSelect.addEventListener("change", () => {
      location.hash = `#/artifact/${subject}?use=${useSelect.value}`;
    });
    const verdict = section("verdict", "Verdict ", useSelect);
    const records = section("records", "Records");
    const lineage = section("lineage", "Lineage");
    const evaluations = section("evaluations", "Evaluations");
    const history = section("history", "History");
    append(main, [verdict.el, records.el, lineage.el, evaluations.el, history.el]);

    load(verdict.body, guarded(() => verdictPanel(subject, use)));
    load(records.body, guarded(async () => {
      let list;
      try {
        list = listOf(await api(`artifacts/${subject}`), "records", "items");
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          const asRecord = await recordRedirect(subject);
          if (asRecord) return asRecord;
          return h("div", { class: "notice", id: "unknown-subject" }, h("strong", {}, "No record of this subject is indexed"), err.detail ? ` — ${err.detail}` : null);
        }
        throw err;
      }
      if (!list.length) return h("p", { class: "muted" }, "No record of this subject on the ledger.");
      return recordsTable(list, false);
    }));
    load(lineage.body, guarded(async () => lineageGraph(await apiOr404(`lineage/${subject}`, {}), subject)));
    load(evaluations.body, guarded(async () => evaluationsTable(await api(`evaluations?model=${subject}&limit=200`))));
    load(history.body, guarded(async () => timeline(await apiOr404(`history/${subject}`, {}), "No event about this subject is indexed.")));
  }

  // ------------------------------------------------------------------ evaluations

  // The results of the evaluation records of this model (GET /v1/evaluations), one row per result.
  // Everything in a row but the trust comes from what the evaluator wrote: text only. Whether a
  // result counts is the verdict's evaluations check; this lists what was registered.
  function evaluationsTable(body) {
    const items = listOf(body, "items");
    if (!items.length) return h("p", { class: "muted", id: "no-evaluations" }, "No evaluation of these weights is indexed.");
    const rows = items.map((e) => {
      const trusted = pick(e, "trusted") === true;
      const revoked = pick(e, "revoked") === true;
      const disclosed = pick(e, "disclosed") === true;
      const name = pick(e, "evaluatorName");
      const value = pick(e, "value");
      const stderr = pick(e, "stderr");
      const shots = pick(e, "nShot");
      const qualifiers = [pick(e, "split"), shots === undefined ? null : `${shots}-shot`].filter((x) => x);
      return h(
        "tr",
        { class: `evaluation${revoked ? " revoked" : ""}${trusted ? " trusted" : ""}`, "data-record": String(pick(e, "recordId") || "") },
        h("td", {}, publisherLink(pick(e, "evaluator")), name ? h("div", { class: "evaluator-name" }, String(name)) : null),
        h("td", {}, trusted ? h("span", { class: "badge status-pass" }, "trusted") : h("span", { class: "badge status-info" }, "not trusted")),
        disclosed
          ? [
              h("td", { class: "task" }, String(pick(e, "task")), qualifiers.length ? h("div", { class: "muted" }, qualifiers.join(", ")) : null),
              h("td", { class: "metric" }, String(pick(e, "metric"))),
              h("td", { class: "num value" }, stderr === undefined ? String(value) : `${value} ± ${stderr}`),
            ]
          : h("td", { colspan: 3, class: "muted undisclosed" }, `results not disclosed — ${pick(e, "undisclosed") || "unknown"}`),
        h("td", {}, String(pick(e, "category") ?? "—")),
        h("td", {}, String(pick(e, "date") ?? "—")),
        h("td", {}, revoked ? h("span", { class: "badge status-fail", title: String(pick(e, "revocationReason") ?? "") }, "revoked") : h("span", { class: "badge status-pass" }, "active")),
        h("td", {}, hexCode(pick(e, "recordId"))),
      );
    });
    return [
      table(["Evaluator", "Trust", "Task", "Metric", "Value ± stderr", "Category", "Date", "Status", "Record"], rows, "evaluations"),
      h("p", { class: "legend muted" }, "Trust is the service's policy (trusted_evaluators). Anyone can register an evaluation: the verdict above counts only those the policy trusts, of these exact weights, not revoked."),
      pick(body, "nextCursor") ? h("p", { class: "muted" }, "More results exist: GET /v1/evaluations pages through them.") : null,
    ];
  }

  // A 0x+64 value may be a record id rather than a subject: offer the way to its artifact.
  async function recordRedirect(value) {
    let record;
    try {
      record = await api(`records/${value}`);
    } catch (err) {
      return null;
    }
    const subject = pick(pick(record, "record") || record, "subject");
    return h(
      "div",
      { class: "notice" },
      "This is the id of a record, not a subject. ",
      subject ? ["Its artifact: ", artifactLink(subject, h("code", {}, String(subject)))] : "It is a batched record without a subject on chain.",
    );
  }

  async function verdictPanel(subject, use) {
    let verdict;
    try {
      verdict = await api(`verify/${subject}?use=${encodeURIComponent(use)}`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 503 || err.status === 501)) {
        return h(
          "p",
          { class: "unavailable", id: "verdict-unavailable" },
          h("strong", {}, "Verification unavailable"),
          ` — the service could not verify this artifact now (${err.detail || err.title}). `,
          "The records, lineage and history below come from the index and are shown as they are.",
        );
      }
      throw err;
    }
    const overall = String(pick(verdict, "overall") || "unknown");
    const checks = listOf(verdict, "checks");
    const head = h(
      "p",
      { class: "overall" },
      "Overall: ",
      h("span", { class: `badge status-${overall}`, id: "overall" }, overall.toUpperCase()),
      pick(verdict, "recordId") ? [" · record ", hexCode(pick(verdict, "recordId"))] : null,
      ` · for ${use} use`,
    );
    const rows = checks.map((c) => {
      const status = String(pick(c, "status") || "unknown");
      const evidence = pick(c, "evidence");
      const hasEvidence = evidence && typeof evidence === "object" && Object.keys(evidence).length > 0;
      return h(
        "tr",
        { class: `check status-row-${status}` },
        h("td", {}, pick(c, "check") ?? "—"),
        h("td", {}, h("span", { class: `badge status-${status}` }, status)),
        h("td", {}, h("code", {}, pick(c, "code") ?? "—")),
        h("td", {}, pick(c, "message") ?? ""),
        h(
          "td",
          {},
          hasEvidence
            ? h("details", {}, h("summary", {}, "evidence"), h("pre", {}, JSON.stringify(evidence, null, 2)))
            : h("span", { class: "muted" }, "—"),
        ),
      );
    });
    const informed = checks.some((c) => pick(c, "status") === "info")
      ? h("p", { class: "legend muted", id: "info-legend" }, "Info lines are shown for information (what anyone can write about this subject): they weigh nothing in the overall result.")
      : null;
    return [head, table(["Check", "Status", "Code", "Reason", "Evidence"], rows, "verdict"), informed, recordsSeen(listOf(verdict, "records"))];
  }

  // Every record of the subject the verifier saw, and which one the verdict relied on and why.
  // The publisher and the why come from chain data anyone can write: text only.
  function recordsSeen(list) {
    if (!list.length) return null;
    const rows = list.map((r) => {
      const relied = pick(r, "relied") === true;
      const trusted = pick(r, "trusted") === true;
      return h(
        "tr",
        { class: relied ? "record-seen relied" : "record-seen" },
        h("td", {}, hexCode(pick(r, "recordId"))),
        h("td", {}, publisherLink(pick(r, "publisher"))),
        h("td", {}, trusted ? "trusted" : h("span", { class: "muted" }, "not trusted")),
        h("td", {}, relied ? h("span", { class: "badge relied-on" }, "relied on") : h("span", { class: "muted" }, "not relied on")),
        h("td", {}, String(pick(r, "state") ?? "—")),
        h("td", {}, String(pick(r, "why") ?? "")),
      );
    });
    return h(
      "div",
      { id: "verdict-records" },
      h("h3", {}, `Records of this subject the verdict weighed (${list.length})`),
      table(["Record", "Publisher", "Trusted", "Relied on", "State", "Why"], rows, "records-seen"),
    );
  }

  function recordStatus(r) {
    if (pick(r, "revoked") === true) {
      const reason = pick(r, "revocationReason", "revokeReason");
      return h("span", { class: "badge status-fail", title: reason ? String(reason) : null }, "revoked");
    }
    if (pick(r, "successor")) return h("span", { class: "badge status-warn" }, "superseded");
    return h("span", { class: "badge status-pass" }, "active");
  }

  function recordsTable(list, withSubject) {
    const headers = ["Record", withSubject ? "Subject" : "Publisher", "Kind", "Parents", "URI", "Block", "Time", "Status", "Endorsed / disputed"];
    return table(
      headers,
      list.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, hexCode(pick(r, "recordId", "record_id", "id"))),
          h("td", {}, withSubject ? artifactLink(pick(r, "subject")) : publisherLink(pick(r, "publisher"))),
          h("td", {}, kindName(pick(r, "kind"))),
          h("td", {}, listOf(pick(r, "parents") || []).map((p) => h("div", {}, artifactLink(p)))),
          h("td", { class: "uri" }, pick(r, "uri") || h("span", { class: "muted" }, "—")),
          h("td", { class: "num" }, pick(r, "blockNumber", "block_number", "block") ?? "—"),
          h("td", {}, formatTime(pick(r, "blockTime", "block_time", "timestamp"))),
          h("td", {}, recordStatus(r)),
          h("td", { class: "num" }, `${pick(r, "endorsements") ?? 0} / ${pick(r, "disputes") ?? 0}`),
        ),
      ),
    );
  }

  // ------------------------------------------------------------------ history timeline

  function timeline(body, emptyText, withLinks) {
    const items = listOf(body, "items", "events", "history");
    if (!items.length) return h("p", { class: "muted" }, emptyText);
    return h("ol", { class: "timeline" }, items.map((item) => timelineItem(item, Boolean(withLinks))));
  }

  function timelineItem(item, withLinks) {
    const name = String(pick(item, "event", "name", "kind") || "event");
    const tx = pick(item, "txHash", "tx_hash");
    const record = pick(item, "recordId", "record_id");
    const actor = pick(item, "actor", "publisher");
    const extra = pick(item, "details", "args") || {};
    const subject = pick(item, "subject") || pick(extra, "subject");
    const rest = Object.fromEntries(Object.entries(extra).filter(([key]) => key !== "subject"));
    return h(
      "li",
      { class: `event event-${name.replace(/[^A-Za-z0-9_-]/g, "")}` },
      h("div", { class: "event-head" }, h("span", { class: "event-name" }, name), pick(extra, "evaluationOf") ? h("span", { class: "badge evaluation-mark" }, "evaluation") : null, h("time", {}, formatTime(pick(item, "blockTime", "block_time", "timestamp")))),
      h(
        "div",
        { class: "event-meta" },
        `block ${pick(item, "blockNumber", "block_number", "block") ?? "?"}`,
        " · tx ",
        hexCode(tx),
        record ? [" · record ", hexCode(record)] : null,
        actor ? [" · by ", publisherLink(actor)] : null,
        subject && withLinks ? [" · subject ", artifactLink(subject)] : null,
      ),
      details(rest),
    );
  }

  // ------------------------------------------------------------------ lineage graph

  const NODE_W = 190;
  const NODE_H = 56;
  const GAP_X = 110;
  const GAP_Y = 28;
  const PAD = 16;
  const ARC_ROOM = 44; // space above the nodes for the arcs of back edges

  // A layered drawing, parents to the left of what was derived from them.
  // Every edge goes from a child ("from") to a parent ("to", GET /v1/lineage).
  // Cycles (a registry can record them) are broken first: a depth-first walk
  // from the artifact on the page marks the edges that close a cycle as "back"
  // edges, which are drawn as arcs above the nodes and do not take part in the
  // layering. Then each child sits at least one layer right of its parents
  // (longest path), and a few barycentre sweeps order the nodes in a layer.
  // Enough for the small graphs of one artifact's lineage.
  function layout(nodes, edges, focus) {
    const ids = nodes.map((n) => String(pick(n, "subject", "id")));
    const known = new Set(ids);
    const valid = edges.filter((e) => known.has(String(e.from)) && known.has(String(e.to)) && e.from !== e.to);
    const parentsOf = new Map(ids.map((id) => [id, []]));
    valid.forEach((e) => parentsOf.get(String(e.from)).push(e));
    const back = new Set();
    const state = new Map(); // 1: on the walk's path, 2: done
    const walk = (id) => {
      state.set(id, 1);
      for (const e of parentsOf.get(id)) {
        const next = String(e.to);
        if (state.get(next) === 1) back.add(e);
        else if (!state.has(next)) walk(next);
      }
      state.set(id, 2);
    };
    const start = ids.filter((id) => id.toLowerCase() === focus).concat(ids);
    start.forEach((id) => state.has(id) || walk(id));
    const forward = valid.filter((e) => !back.has(e));

    const layer = new Map(ids.map((id) => [id, 0]));
    for (let round = 0; round <= ids.length; round += 1) {
      let changed = false;
      for (const e of forward) {
        const want = layer.get(String(e.to)) + 1;
        if (layer.get(String(e.from)) < want) {
          layer.set(String(e.from), want);
          changed = true;
        }
      }
      if (!changed) break; // without back edges this ends within ids.length rounds
    }
    const depth = Math.max(0, ...layer.values()) + 1;
    const layers = Array.from({ length: depth }, () => []);
    for (const id of ids) layers[layer.get(id)].push(id);
    const position = new Map();
    const place = () => layers.forEach((ids_) => ids_.forEach((id, i) => position.set(id, i)));
    place();
    const linked = (id) =>
      forward.flatMap((e) => (String(e.from) === id ? [String(e.to)] : String(e.to) === id ? [String(e.from)] : []));
    const sweep = (rightwards) => {
      const order = rightwards ? [...layers.keys()] : [...layers.keys()].reverse();
      for (const l of order) {
        const side = (n) => (rightwards ? layer.get(n) < l : layer.get(n) > l);
        const score = new Map(
          layers[l].map((id) => {
            const around = linked(id).filter(side);
            const avg = around.length ? around.reduce((sum, n) => sum + position.get(n), 0) / around.length : position.get(id);
            return [id, avg];
          }),
        );
        layers[l].sort((a, b) => score.get(a) - score.get(b) || a.localeCompare(b));
        place();
      }
    };
    for (let i = 0; i < 4; i += 1) sweep(i % 2 === 0);
    const tallest = Math.max(...layers.map((l) => l.length));
    const top = PAD + (back.size ? ARC_ROOM : 0);
    const coords = new Map();
    layers.forEach((ids_, l) => {
      const offset = ((tallest - ids_.length) * (NODE_H + GAP_Y)) / 2;
      ids_.forEach((id, i) => coords.set(id, { x: PAD + l * (NODE_W + GAP_X), y: top + offset + i * (NODE_H + GAP_Y) }));
    });
    return {
      coords,
      edges: valid,
      back,
      width: PAD * 2 + depth * NODE_W + (depth - 1) * GAP_X,
      height: top + PAD + tallest * NODE_H + (tallest - 1) * GAP_Y,
    };
  }

  // The SVG path of one edge, arrowhead at the parent, and where its label goes.
  function edgePath(child, parent, isBack) {
    if (!isBack) {
      // from the child's left side to the parent's right side
      const x1 = child.x;
      const y1 = child.y + NODE_H / 2;
      const x2 = parent.x + NODE_W;
      const y2 = parent.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      return { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, lx: mid, ly: (y1 + y2) / 2 - 6 };
    }
    // a back edge: an arc over the nodes, from the child's top to the parent's top
    const x1 = child.x + NODE_W / 2 - 12;
    const x2 = parent.x + NODE_W / 2 + 12;
    const y1 = child.y;
    const y2 = parent.y;
    const peak = Math.min(y1, y2) - ARC_ROOM + 8;
    const top = (y1 + y2) / 8 + (peak * 3) / 4; // the curve's height half-way
    return { d: `M${x1},${y1} C${x1},${peak} ${x2},${peak} ${x2},${y2}`, lx: (x1 + x2) / 2, ly: top - 5 };
  }

  function lineageGraph(body, focus) {
    const nodes = listOf(body, "nodes");
    const edges = listOf(body, "edges");
    if (!nodes.length) return h("p", { class: "muted" }, "No lineage is known for this subject.");
    const { coords, edges: drawn, back, width, height } = layout(nodes, edges, focus);
    const labelled = drawn.length <= 3; // more labels would collide; the legend says what arrows mean
    const marker = svg(
      "marker",
      { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }),
    );
    const edgeEls = drawn.map((e) => {
      const isBack = back.has(e);
      const { d, lx, ly } = edgePath(coords.get(String(e.from)), coords.get(String(e.to)), isBack);
      const relation = String(RELATIONS[pick(e, "relation")] || pick(e, "relation") || "derived from");
      return svg(
        "g",
        { class: isBack ? "edge back" : "edge", "data-from": String(e.from), "data-to": String(e.to) },
        svg("title", {}, `${short(e.from)} ${relation} ${short(e.to)}` + (isBack ? " (closes a cycle)" : "")),
        svg("path", { d, "marker-end": "url(#arrow)" }),
        labelled ? svg("text", { x: lx, y: ly, "text-anchor": "middle" }, relation) : null,
      );
    });
    const nodeEls = nodes.map((n) => {
      const id = String(pick(n, "subject", "id"));
      const { x, y } = coords.get(id);
      const kind = kindName(pick(n, "kind"));
      const revoked = pick(n, "revoked") === true;
      const publishers = listOf(pick(n, "publishers") || []);
      const known = pick(n, "registered", "known");
      const classes = ["node", `kind-${kind.replace(/[^a-z]/g, "")}`];
      if (id.toLowerCase() === focus) classes.push("focus");
      if (revoked) classes.push("revoked");
      if (known === false) classes.push("unregistered");
      const label = known === false ? "not registered" : revoked ? `${kind} · revoked` : kind;
      const g = svg(
        "g",
        { class: classes.join(" "), "data-subject": id, transform: `translate(${x},${y})`, tabindex: 0, role: "link" },
        svg("title", {}, `${kind} ${id}` + (publishers.length ? `\npublished by ${publishers.join(", ")}` : "")),
        svg("rect", { width: NODE_W, height: NODE_H, rx: 8, ry: 8 }),
        svg("text", { x: 12, y: 22, class: "node-kind" }, label),
        svg("text", { x: 12, y: 42, class: "node-subject" }, short(id)),
      );
      if (SUBJECT.test(id)) {
        const go = () => {
          location.hash = `#/artifact/${id.toLowerCase()}`;
        };
        g.addEventListener("click", go);
        g.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") go();
        });
      }
      return g;
    });
    const drawing = svg(
      "svg",
      {
        class: "lineage",
        viewBox: `0 0 ${width} ${height}`,
        width,
        height,
        role: "img",
        "aria-label": `Lineage graph: ${nodes.length} artifacts, ${drawn.length} links`,
      },
      svg("defs", {}, marker),
      edgeEls,
      nodeEls,
    );
    const truncated =
      pick(body, "truncated") === true
        ? h(
            "p",
            { class: "notice", id: "lineage-truncated" },
            "The graph is cut at the service's depth or size limit; open an outer artifact to see further.",
          )
        : null;
    const legend = h(
      "p",
      { class: "legend muted" },
      "Inputs on the left; an arrow goes from an artifact to what it was derived from" +
        (back.size ? " (dashed arcs close a cycle in the recorded lineage)" : "") +
        ". The outlined box is the artifact on this page. Click an artifact to open it.",
    );
    return [truncated, h("div", { class: "graph-scroll" }, drawing), legend];
  }

  // ------------------------------------------------------------------ file and publisher

  function fileView(main, digest) {
    document.title = `File ${short(digest)} · Provenance ledger`;
    append(main, [h("h1", {}, "File ", h("code", { class: "subject" }, digest))]);
    const found = section("file-artifacts", "Artifacts that contain this file");
    append(main, [found.el]);
    load(found.body, guarded(async () => {
      let list;
      try {
        list = listOf(await api(`files/${digest}`), "artifacts", "items");
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) list = [];
        else throw err;
      }
      if (!list.length) return h("p", { class: "muted" }, "No registered artifact is known to contain a file with this SHA-256.");
      return table(
        ["Artifact", "Path in the artifact"],
        list.map((a) => h("tr", {}, h("td", {}, artifactLink(pick(a, "subject"))), h("td", {}, h("code", {}, pick(a, "path") ?? "—")))),
      );
    }));
  }

  function publisherView(main, address) {
    document.title = `Publisher ${short(address)} · Provenance ledger`;
    append(main, [h("h1", {}, "Publisher ", h("code", { class: "subject" }, address))]);
    const summary = section("publisher-summary", "Summary");
    const records = section("publisher-records", "Records");
    const history = section("history", "History");
    append(main, [summary.el, records.el, history.el]);
    load(summary.body, guarded(async () => {
      const list = listOf(await api("publishers"), "publishers", "items");
      const me = list.find((p) => String(pick(p, "address", "publisher")).toLowerCase() === address.toLowerCase());
      if (!me) return h("p", { class: "muted" }, "This address has not registered any record.");
      return details({
        records: pick(me, "records", "recordCount"),
        revoked: pick(me, "revoked", "revokedCount"),
        "first block": pick(me, "firstBlock", "first_block"),
        "last block": pick(me, "lastBlock", "last_block"),
      });
    }));
    const historyLoaded = api(`history/${address}`);
    load(records.body, guarded(async () => {
      const items = listOf(await historyLoaded, "items", "events", "history");
      const registered = items.filter((i) => /Registered|Proven/.test(String(pick(i, "event", "name"))));
      if (!registered.length) return h("p", { class: "muted" }, "No record registered by this address.");
      // What later events say of each record (the history holds them all, newest first).
      const later = new Map();
      for (const i of items) {
        const id = pick(i, "recordId", "record_id");
        const name = String(pick(i, "event", "name"));
        if (id && !later.has(id) && (name === "RecordRevoked" || name === "RecordSuperseded")) later.set(id, name);
      }
      const status = (id) =>
        later.get(id) === "RecordRevoked"
          ? h("span", { class: "badge status-fail" }, "revoked")
          : later.get(id) === "RecordSuperseded"
            ? h("span", { class: "badge status-warn" }, "superseded")
            : h("span", { class: "badge status-pass" }, "active");
      return table(
        ["Record", "Subject", "Kind", "Event", "Block", "Time", "Status"],
        registered.map((i) => {
          const extra = pick(i, "details") || {};
          return h(
            "tr",
            {},
            h("td", {}, hexCode(pick(i, "recordId", "record_id"))),
            h("td", {}, artifactLink(pick(i, "subject") || pick(extra, "subject"))),
            h("td", {}, kindName(pick(extra, "kind"))),
            h("td", {}, pick(i, "event", "name") ?? ""),
            h("td", { class: "num" }, pick(i, "blockNumber", "block_number") ?? "—"),
            h("td", {}, formatTime(pick(i, "blockTime", "block_time"))),
            h("td", {}, status(pick(i, "recordId", "record_id"))),
          );
        }),
      );
    }));
    load(history.body, guarded(async () => timeline(await historyLoaded, "No event by or about this address.", true)));
  }

  // ------------------------------------------------------------------ start

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("search").addEventListener("submit", onSearch);
    window.addEventListener("hashchange", route);
    route();
  });
})();
