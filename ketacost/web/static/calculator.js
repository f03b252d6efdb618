/* ketacost calculator page: reads the form, asks POST v1/estimate (same origin), shows the
 * answer. No library, no build step, no request to any other origin. Money arrives as
 * strings with two decimals ("1234.50") and is only formatted here, never computed with.
 * Every word shown comes from the page's JSON (`messages`, `plurals`: the calculator
 * catalog in the page's language) or from the answer (in the language the page asks for). */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("calculator-data").textContent);
  const $ = (id) => document.getElementById(id);
  const form = $("form");
  const SVG = "http://www.w3.org/2000/svg";
  const payers = new Map(data.payers.map((p) => [p.id, p]));
  const treatments = new Map(data.treatments.map((t) => [t.id, t]));
  const lang = data.lang || document.documentElement.lang || "en";
  const locale = data.locale || "en-US";

  // A message of the page's language with its {placeholders} filled in.
  function fmt(key, vars) {
    const text = (data.messages && data.messages[key]) || key;
    return text.replace(/\{([a-z_]+)\}/g, (all, name) => (vars && name in vars ? String(vars[name]) : all));
  }

  // The form of a counted message: [one, other] (English and Spanish below a million).
  function plural(key, n, vars) {
    const [one, other] = data.plurals[key];
    const text = n === 1 ? one : other;
    return text.replace(/\{([a-z_]+)\}/g, (all, name) => (name === "n" ? String(n) : name in vars ? String(vars[name]) : all));
  }

  // "$1,234.50" from the answer's exact string "1234.5": never through a float.
  function money(text) {
    const negative = text.startsWith("-");
    const [whole, cents] = text.replace("-", "").split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-$" : "$") + grouped + "." + (cents || "00").padEnd(2, "0");
  }

  function cents(text) {
    const [whole, part] = text.replace("-", "").split(".");
    const value = Number(whole) * 100 + Number((part || "0").padEnd(2, "0"));
    return text.startsWith("-") ? -value : value;
  }

  // Dates arrive as ISO days ("2026-11-26") and are shown in the page's language.
  const formats = {
    long: new Intl.DateTimeFormat(locale, { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }),
    medium: new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }),
    month: new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", timeZone: "UTC" }),
  };

  function isoDay(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  }

  function longDate(iso) {
    return formats.long.format(isoDay(iso));
  }

  function mediumDate(iso) {
    return formats.medium.format(isoDay(iso));
  }

  function capital(text) {
    return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- the form ---------------------------------------------------------------------------
  function choice(name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : null;
  }

  // No insurance is chosen until the patient chooses one: the plan's questions wait for it.
  function syncForm() {
    const treatment = treatments.get($("treatment").value);
    if (treatment) $("treatment-description").textContent = treatment.description;
    const payer = payers.get($("insurance").value);
    const insured = Boolean(payer && payer.networks.length);
    $("network-field").hidden = !(insured && payer.networks.length > 1);
    for (const id of ["pa-field", "trials-field", "met-field"]) $(id).hidden = !insured;
    syncOther(insured ? payer.second_payers : []);
  }

  // The other coverage this clinic lists that pays after the chosen insurance.
  function syncOther(ids) {
    const select = $("other_coverage");
    const kept = select.value;
    const options = [el("option", { value: "none" }, fmt("no_other"))];
    for (const id of ids) {
      const other = payers.get(id);
      if (other) options.push(el("option", { value: id }, other.name));
    }
    select.replaceChildren(...options);
    select.value = ids.includes(kept) ? kept : "none";
    $("other-field").hidden = ids.length === 0;
  }

  function dollars(id) {
    const raw = $(id).value.trim().replace(/[$,\s]/g, "");
    return raw === "" ? null : raw;
  }

  function body() {
    const payer = payers.get($("insurance").value);
    const insured = Boolean(payer && payer.networks.length);
    const out = {
      treatment: $("treatment").value,
      insurance: $("insurance").value,
      age: Number($("age").value),
      start: $("start").value || null,
    };
    if (insured) {
      if (payer.networks.length > 1) out.network = choice("network") || "in";
      out.prior_authorization = choice("prior_authorization") || "not_sure";
      out.failed_trials = Number($("failed_trials").value || "0");
      const deductible = dollars("deductible_met");
      const oop = dollars("out_of_pocket_met");
      if (deductible !== null) out.deductible_met = deductible;
      if (oop !== null) out.out_of_pocket_met = oop;
      const other = $("other_coverage").value;
      if (!$("other-field").hidden && other !== "none") out.other_coverage = other;
    }
    if (out.start === null) delete out.start;
    return out;
  }

  // An RFC 9457 problem: `detail` says what went wrong, `errors` where (field, line, column).
  function showError(problem) {
    const box = $("form-error");
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    const lines = (problem.errors || []).map((e) => {
      const input = e.field ? $(e.field) : null;
      if (input) input.setAttribute("aria-invalid", "true");
      const label = input ? form.querySelector(`label[for="${e.field}"]`) : null;
      return (label ? label.textContent.trim() : e.field || fmt("request")) + ": " + e.detail;
    });
    box.textContent = lines.length ? lines.join(" ") : (problem.detail || problem.title || fmt("wrong"));
    box.hidden = false;
  }

  // The problem of an error answer; a body that is not JSON (a proxy's page, uvicorn's
  // --limit-concurrency "Service Unavailable" text) is told by its status.
  async function problemOf(response) {
    try {
      const problem = await response.json();
      if (problem && typeof problem === "object") return problem;
    } catch (err) {
      // not JSON: said below by its status
    }
    const busy = response.status === 503 || response.status === 429;
    return {
      detail: fmt(busy ? "busy" : "failed", { status: response.status }),
    };
  }

  // The browser's own validation bubbles speak the browser's language: the page's words instead.
  function labelFields() {
    for (const input of form.elements) {
      if (!input.willValidate) continue;
      input.setCustomValidity("");
      const v = input.validity;
      if (v.valid) continue;
      let message;
      if (v.valueMissing) message = input.tagName === "SELECT" ? fmt("choose_option") : fmt("fill_in");
      else if (v.patternMismatch) message = fmt("money_format");
      else if (input.type === "date") message = fmt("date_range", { min: longDate(input.min), max: longDate(input.max) });
      else message = fmt("number_range", { min: input.min, max: input.max });
      input.setCustomValidity(message);
    }
  }

  async function submit(event) {
    event.preventDefault();
    labelFields();
    if (!form.reportValidity()) return;
    const button = $("submit");
    button.disabled = true;
    $("form-error").hidden = true;
    try {
      const response = await fetch("v1/estimate?lang=" + encodeURIComponent(lang), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body()),
      });
      if (!response.ok) {
        showError(await problemOf(response));
        return;
      }
      render(await response.json());
    } catch (err) {
      showError({ detail: fmt("unreachable") });
    } finally {
      button.disabled = false;
    }
  }

  // ---- the answer -------------------------------------------------------------------------
  function card(id, value, cases, key) {
    const amount = $(id);
    amount.dataset.amount = value;
    if (cases) {
      const values = cases.map((c) => c[key]).sort((a, b) => cents(a) - cents(b));
      const low = values[0];
      const high = values[values.length - 1];
      amount.dataset.low = low;
      amount.dataset.high = high;
      amount.textContent = low === high ? money(low) : money(low) + " – " + money(high);
    } else {
      delete amount.dataset.low;
      delete amount.dataset.high;
      amount.textContent = money(value);
    }
  }

  let shown = null; // the answer on screen (the chart is drawn again when its width changes)

  function render(answer) {
    const s = answer.summary;
    const est = answer.estimate;
    const range = answer.range || null;
    const cases = range ? range.cases : null;
    const treatment = answer.treatment ? answer.treatment.name : fmt("your_plan");
    const second = s.second_payer_name || null;
    const insured = answer.insured !== false;
    // no insurance: the page's own words for it ("No insurance (pay the clinic directly)")
    const none = $("insurance").querySelector('option[value="none"]');
    let insurance = !insured && none ? none.textContent : answer.payer_name || est.payer_name;
    if (second) insurance = fmt("insurance_and_second", { insurance, second });
    if (est.network === "out") insurance = fmt("out_of_network", { insurance });
    $("results-for").textContent = fmt("results_for", { treatment, insurance, date: longDate(s.start) });
    card("first-session", s.first_session, cases, "first_session");
    card("first-month", s.first_month, cases, "first_month");
    card("first-year", s.first_year, cases, "first_year");
    $("first-session-note").textContent = fmt("first_session_note", { label: s.first_session_label, date: longDate(s.first_session_date) });
    $("first-month-note").textContent = fmt("first_month_note", { date: longDate(s.first_month_end) });
    // What the plan pays belongs to one case: under a range it is said per case, below.
    const yearNote = [plural("first_year_visits", s.first_year_visits, { date: longDate(s.first_year_end) })];
    if (range) {
      yearNote.push(fmt("range_year_note"));
    } else if (insured) {
      yearNote.push(fmt("plan_pays", { amount: money(s.first_year_plan_pays) }));
      if (second) yearNote.push(fmt("second_pays", { name: second, amount: money(s.first_year_second_payer_pays) }));
    }
    $("first-year-note").textContent = yearNote.join("; ");

    const box = $("range");
    box.replaceChildren();
    if (range) {
      box.append(el("p", {}, el("strong", {}, fmt("range_unknown", { unknown: range.unknown }))),
        el("p", {}, fmt("range_between", { low: money(range.low), high: money(range.high) })));
      const list = el("ul");
      for (const c of range.cases) {
        const vars = { amount: money(c.first_year), label: c.label };
        list.append(el("li", {}, c.first_year_plan_pays
          ? fmt("range_case_plan", { ...vars, plan: money(c.first_year_plan_pays) })
          : fmt("range_case", vars)));
      }
      box.append(list, el("p", {}, fmt("range_shown")));
    }
    box.hidden = !range;
    const cash = $("cash");
    cash.textContent = s.self_pay_instead ? fmt("cash", { cash: money(s.self_pay_instead), total: money(s.total) }) : "";
    cash.hidden = !s.self_pay_instead;

    const phases = (answer.treatment && data.phases && data.phases[answer.treatment.id]) || {};
    renderTable(est, s, second, explanationsOf(answer), phases, insured);
    const assumptions = $("assumptions");
    assumptions.replaceChildren(...answer.assumptions.map((a) => el("li", {}, a)));
    // the patient reads the warnings in plain words; the billing text is for the staff
    const notices = answer.notices || [];
    $("warnings").replaceChildren(...notices.map((w) => el("li", {}, w)));
    // (without the references to the project's own notes that some payer files cite)
    const staff = est.warnings.map((w) => w.replace(/\s*\(domain\.md §[\d.]+\)|;?\s*domain\.md §[\d.]+/g, ""));
    $("staff-warnings").replaceChildren(...staff.map((w) => el("li", {}, w)));
    $("staff-notes").hidden = est.warnings.length === 0;

    $("results").hidden = false;
    shown = s;
    syncSwitch();
    renderChart(s); // once the figure is laid out: the chart is drawn at its own width
    $("results-title").focus();
    postHeight();
  }

  // Per visit number, the plain-language lines of the answer ({what, why, details,
  // not_covered}); an answer without them (an older server) falls back to the lines.
  function explanationsOf(answer) {
    const byVisit = new Map();
    for (const v of answer.explanations || []) byVisit.set(v.visit, v.lines);
    if (byVisit.size) return byVisit;
    for (const v of answer.estimate.visits) {
      byVisit.set(v.number, v.lines.map((line) => ({
        what: line.description,
        why: line.covered ? "" : (line.reason || ""),
        details: `${line.code}: ${line.explanation.join(" ")}`,
        not_covered: line.covered ? null : (line.reason || ""),
      })));
    }
    return byVisit;
  }

  function breakdown(visit, lines, insured) {
    const t = visit.totals;
    const parts = [];
    for (const key of ["copay", "deductible", "coinsurance", "non_covered", "balance_bill"]) {
      // with no insurance nothing is "not covered": the patient pays the self-pay price
      if (cents(t[key]) !== 0) parts.push(fmt(key === "non_covered" && !insured ? "self_pay_price" : key, { amount: money(t[key]) }));
    }
    if (t.assistance && cents(t.assistance) !== 0) parts.push(fmt("assistance", { amount: money(t.assistance) }));
    if (parts.length === 0) parts.push(fmt("nothing"));
    const cell = [el("span", { class: "breakdown" }, capital(parts.join(", ")))];
    if (lines && lines.length) {
      const why = el("details", { class: "why" }, el("summary", {}, fmt("why")));
      const list = el("ul");
      for (const line of lines) {
        const item = el("li", {}, el("strong", {}, line.what));
        if (line.why) item.append(": " + line.why);
        list.append(item);
      }
      const codes = el("details", { class: "codes" }, el("summary", {}, fmt("codes")));
      codes.append(el("ul", {}, ...lines.map((line) => el("li", {}, line.details))));
      why.append(list, codes);
      cell.push(why);
    }
    return cell;
  }

  function renderTable(est, s, second, explanations, phases, insured) {
    const tbody = $("visits").tBodies[0];
    const cumulative = new Map(s.series.map((p) => [p.visit, p.cumulative_patient]));
    const column = $("second-col");
    column.hidden = !second;
    column.textContent = second ? fmt("second_col", { name: second }) : fmt("other_col");
    $("plan-col").hidden = !insured; // no plan, no "Plan pays" column
    // On a phone each visit is a card: every cell says its column's name (data-label), and
    // the roles keep it a table for screen readers whatever its CSS display.
    const labels = [...$("visits").tHead.rows[0].cells].filter((c) => !c.hidden).map((c) => c.textContent);
    tbody.replaceChildren(...est.visits.map((v) => {
      const cells = [
        [{ class: "nowrap date" }, mediumDate(v.date)],
        [{ class: "session" }, capital(phases[v.phase] || v.phase)],
        [{ class: "num" }, money(v.totals.charge)],
        ...(insured ? [[{ class: "num" }, money(v.totals.payer)]] : []),
        ...(second ? [[{ class: "num" }, money(v.totals.secondary || "0.00")]] : []),
        [{ class: "num you-pay" }, money(v.totals.patient_net)],
        [{ class: "what" }, ...breakdown(v, explanations.get(v.number), insured)],
        [{ class: "num" }, money(cumulative.get(v.number))],
      ];
      return el("tr", { role: "row" },
        el("td", { class: "visit", role: "cell", "data-label": fmt("visit_col") }, String(v.number)),
        ...cells.map(([attrs, ...content], i) =>
          el("td", { ...attrs, role: "cell", "data-label": labels[i + 1] }, ...content)));
    }));
  }

  // The chart is drawn in the figure's own pixels (its viewBox is its width), so the labels
  // are as large on a phone as on a desktop; it is drawn again when the width changes.
  function renderChart(s) {
    const chart = $("chart");
    chart.replaceChildren();
    const width = Math.round(chart.parentElement.getBoundingClientRect().width) || 640;
    const W = Math.max(280, width);
    const H = W < 520 ? 260 : 320;
    chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
    chart.dataset.width = String(W);
    const right = 16, top = 20, bottom = 40;
    const day = (iso) => isoDay(iso).getTime() / 864e5;
    const t0 = day(s.start), t1 = day(s.first_year_end);
    const points = s.series.filter((p) => day(p.date) < t1);
    const top100 = Math.max(1, ...points.map((p) => Math.ceil(cents(p.cumulative_patient) / 100)));
    const raw = top100 / 4;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    // whole-dollar steps of at least $1 (a $2.50 step would print $3 at $2.50)
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude)
      .find((v) => v >= raw && v >= 1 && Number.isInteger(v));
    const maxCents = step * 4 * 100;
    chart.append(svg("title", {}, fmt("chart_title")));
    // the dollar labels first: the left margin is the widest of them
    const amounts = [0, 1, 2, 3, 4].map((i) =>
      svg("text", { class: "y-amount", "text-anchor": "end" }, money(String(Math.round(step * i)) + ".00").slice(0, -3)));
    for (const t of amounts) chart.append(t);
    const left = 12 + Math.ceil(Math.max(...amounts.map((t) => t.getComputedTextLength())));
    const x = (d) => left + ((d - t0) / (t1 - t0)) * (W - left - right);
    const y = (c) => H - bottom - (c / maxCents) * (H - top - bottom);
    amounts.forEach((t, i) => {
      const c = step * i * 100;
      chart.insertBefore(svg("line", { class: "grid", x1: left, x2: W - right, y1: y(c), y2: y(c) }), t);
      t.setAttribute("x", left - 6);
      t.setAttribute("y", y(c) + 5);
    });
    // months with their year ("Nov 2026", never "Nov 26"): every 3 months, every 6 on a phone
    const every = W < 520 ? 6 : 3;
    const [yy, mm, dd] = s.start.split("-").map(Number);
    for (let m = 0; m <= 12; m += every) {
      const tick = Date.UTC(yy, mm - 1 + m, Math.min(dd, 28)) / 864e5;
      chart.append(svg("line", { class: "axis", x1: x(tick), x2: x(tick), y1: H - bottom, y2: H - bottom + 5 }));
      const label = svg("text", { class: "x-month", x: x(tick), y: H - bottom + 24, "text-anchor": "middle" },
        formats.month.format(new Date(tick * 864e5)));
      chart.append(label);
      inside(label, W);
    }
    chart.append(svg("line", { class: "axis", x1: left, x2: W - right, y1: H - bottom, y2: H - bottom }));
    chart.append(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: H - bottom }));
    let d = `M ${x(t0)} ${y(0)}`;
    let level = 0;
    for (const p of points) {
      const px = x(day(p.date));
      d += ` L ${px} ${y(level)}`;
      level = cents(p.cumulative_patient);
      d += ` L ${px} ${y(level)}`;
    }
    d += ` L ${x(t1)} ${y(level)}`;
    chart.append(svg("path", { class: "cost", d }));
    for (const p of points) {
      chart.append(svg("circle", { class: "dot", cx: x(day(p.date)), cy: y(cents(p.cumulative_patient)), r: 3 }));
    }
    const described = [];
    let labelRow = 0;
    for (const m of s.milestones) {
      if (day(m.date) >= t1) continue;
      const mx = x(day(m.date));
      chart.append(svg("line", { class: m.kind, x1: mx, x2: mx, y1: top, y2: H - bottom, "data-kind": m.kind }));
      const anchor = mx > W / 2 ? "end" : "start";
      const label = svg("text", { class: m.kind, x: mx + (anchor === "end" ? -4 : 4), y: top + 14 + 18 * labelRow++, "text-anchor": anchor },
        fmt(m.kind === "deductible" ? "deductible_met" : "oop_reached", { date: formats.month.format(isoDay(m.date)) }));
      chart.append(label);
      inside(label, W);
      const vars = { amount: money(m.amount), visit: m.visit, date: longDate(m.date) };
      const before = m.met_before_start;
      described.push(fmt(m.kind === "deductible" ? before ? "deductible_before" : "deductible_at" : before ? "oop_before" : "oop_at", vars));
    }
    const last = points.length ? points[points.length - 1].cumulative_patient : "0.00";
    $("chart-desc").textContent = [fmt("chart_total", { amount: money(last) }),
      plural("chart_visits", points.length, {}), ...described].join(" ");
  }

  // Moves a label sideways so that the whole of it is inside the chart (0 to W).
  function inside(label, W) {
    const box = label.getBBox();
    const shift = box.x < 2 ? 2 - box.x : box.x + box.width > W - 2 ? W - 2 - box.x - box.width : 0;
    if (shift) label.setAttribute("x", Number(label.getAttribute("x")) + shift);
  }

  // ---- embedding: tell the page that holds this frame how tall it is ------------------------
  function postHeight() {
    if (window.parent !== window) {
      window.parent.postMessage({ type: "ketacost:height", height: document.documentElement.scrollHeight }, "*");
    }
  }

  // ---- the language switch keeps the answers -----------------------------------------------
  // The answers travel in the switch link's fragment (#treatment=…&age=…), which the browser
  // never sends to the server: nothing is stored; the page in the other language reads them
  // back and, when an estimate was on screen, asks for it again in its own language.
  const KEPT = ["treatment", "insurance", "other_coverage", "age", "failed_trials",
    "deductible_met", "out_of_pocket_met", "start"];
  const CHOICES = ["network", "prior_authorization"];

  function answersFragment() {
    const params = new URLSearchParams();
    for (const id of KEPT) if ($(id).value !== "") params.set(id, $(id).value);
    for (const name of CHOICES) if (choice(name)) params.set(name, choice(name));
    if (!$("results").hidden) params.set("estimate", "1");
    return params.toString();
  }

  function syncSwitch() {
    const fragment = answersFragment();
    for (const link of document.querySelectorAll("a.switch-language")) {
      const base = link.getAttribute("href").split("#")[0];
      link.setAttribute("href", fragment ? base + "#" + fragment : base);
    }
  }

  function restore() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    if (!params.has("treatment")) return false;
    for (const id of ["treatment", "insurance"]) {
      const option = params.get(id);
      if (option !== null && [...$(id).options].some((o) => o.value === option)) $(id).value = option;
    }
    syncForm();
    for (const id of KEPT.slice(2)) if (params.has(id)) $(id).value = params.get(id);
    for (const name of CHOICES) {
      const input = form.querySelector(`input[name="${name}"][value="${CSS.escape(params.get(name) || "")}"]`);
      if (input) input.checked = true;
    }
    history.replaceState(null, "", window.location.pathname + window.location.search);
    return params.get("estimate") === "1";
  }

  $("treatment").addEventListener("change", syncForm);
  $("insurance").addEventListener("change", syncForm);
  $("print").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => {
    for (const d of document.querySelectorAll("#visits details.why")) d.open = true;
  });
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(postHeight).observe(document.body);
    new ResizeObserver(() => {
      const drawn = Number($("chart").dataset.width || 0);
      const now = Math.round($("chart-figure").getBoundingClientRect().width);
      if (shown && !$("results").hidden && now && Math.abs(now - drawn) > 1) renderChart(shown);
    }).observe($("chart-figure"));
  }
  form.addEventListener("submit", submit);
  form.addEventListener("input", syncSwitch);
  form.addEventListener("change", syncSwitch);
  syncForm();
  // the browser checks the form when the button is pressed, before "submit": the words first
  $("submit").addEventListener("click", labelFields);
  for (const kind of ["input", "change"]) {
    form.addEventListener(kind, (event) => {
      if (event.target.setCustomValidity) event.target.setCustomValidity("");
    });
  }
  if (restore() && form.checkValidity()) form.requestSubmit();
  syncSwitch();
})();
