/* ketacost calculator page: reads the form, asks POST v1/estimate (same origin), shows the
 * answer. No library, no build step, no request to any other origin. Money arrives as
 * strings with two decimals ("1234.50") and is only formatted here, never computed with. */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("calculator-data").textContent);
  const $ = (id) => document.getElementById(id);
  const form = $("form");
  const SVG = "http://www.w3.org/2000/svg";
  const payers = new Map(data.payers.map((p) => [p.id, p]));
  const treatments = new Map(data.treatments.map((t) => [t.id, t]));

  function money(text) {
    const negative = text.startsWith("-");
    const [whole, cents] = text.replace("-", "").split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-$" : "$") + grouped + "." + (cents || "00");
  }

  function cents(text) {
    const [whole, part] = text.replace("-", "").split(".");
    const value = Number(whole) * 100 + Number((part || "0").padEnd(2, "0"));
    return text.startsWith("-") ? -value : value;
  }

  function longDate(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en-US", {
      year: "numeric", month: "short", day: "numeric", timeZone: "UTC",
    });
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
    const options = [el("option", { value: "none" }, "No other coverage")];
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
      return (label ? label.textContent.trim() : e.field || "request") + ": " + e.detail;
    });
    box.textContent = lines.length ? lines.join(" ") : (problem.detail || problem.title || "Something went wrong.");
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
      detail: busy
        ? `The calculator is busy (HTTP ${response.status}). Please try again in a minute.`
        : `The calculator answered with an error (HTTP ${response.status}). Please try again later.`,
    };
  }

  async function submit(event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const button = $("submit");
    button.disabled = true;
    $("form-error").hidden = true;
    try {
      const response = await fetch("v1/estimate", {
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
      showError({ detail: "The calculator could not be reached. Check your connection and try again." });
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

  function render(answer) {
    const s = answer.summary;
    const est = answer.estimate;
    const cases = answer.range ? answer.range.cases : null;
    const treatment = answer.treatment ? answer.treatment.name : "Your plan";
    const second = s.second_payer_name || null;
    $("results-for").textContent =
      `${treatment}, ${est.payer_name}` + (second ? ` and ${second}` : "") +
      (est.network === "out" ? " (out of network)" : "") + `, starting ${longDate(s.start)}.`;
    card("first-session", s.first_session, cases, "first_session");
    card("first-month", s.first_month, cases, "first_month");
    card("first-year", s.first_year, cases, "first_year");
    $("first-session-note").textContent = `${s.first_session_label}, ${longDate(s.first_session_date)}`;
    $("first-month-note").textContent = `Visits before ${longDate(s.first_month_end)}`;
    $("first-year-note").textContent =
      `${s.first_year_visits} visits before ${longDate(s.first_year_end)}; your plan pays ` +
      money(s.first_year_plan_pays) +
      (second ? `, ${second} pays ${money(s.first_year_second_payer_pays)}` : "");

    const range = $("range");
    range.replaceChildren();
    if (answer.range) {
      range.append(el("p", {}, el("strong", {}, "Not known yet: " + answer.range.unknown + ". ")),
        el("p", {}, `Your first year costs between ${money(answer.range.low)} and ${money(answer.range.high)}:`));
      const list = el("ul");
      for (const c of answer.range.cases) list.append(el("li", {}, `${money(c.first_year)} ${c.label}`));
      range.append(list, el("p", {}, "The table and chart below show the higher amount."));
    }
    range.hidden = !answer.range;
    const cash = $("cash");
    cash.textContent = s.self_pay_instead
      ? `Paying the clinic's self-pay prices for the whole plan would cost ${money(s.self_pay_instead)}, ` +
        `less than the ${money(s.total)} through your plan. Ask the clinic for a Good Faith Estimate; ` +
        "care paid in cash does not count toward your deductible or out-of-pocket maximum."
      : "";
    cash.hidden = !s.self_pay_instead;

    renderChart(s);
    renderTable(est, s, second);
    const assumptions = $("assumptions");
    assumptions.replaceChildren(...answer.assumptions.map((a) => el("li", {}, a)));
    $("warnings").replaceChildren(...est.warnings.map((w) => el("li", {}, w)));

    $("results").hidden = false;
    $("results-title").focus();
    postHeight();
  }

  function breakdown(visit) {
    const t = visit.totals;
    const parts = [];
    const names = [["copay", "copay"], ["deductible", "deductible"], ["coinsurance", "coinsurance"],
      ["non_covered", "not covered"], ["balance_bill", "balance bill"]];
    for (const [key, name] of names) if (cents(t[key]) !== 0) parts.push(`${name} ${money(t[key])}`);
    if (t.assistance && cents(t.assistance) !== 0) parts.push(`less ${money(t.assistance)} from a savings program`);
    if (parts.length === 0) parts.push("nothing");
    const details = el("details", {}, el("summary", {}, parts.join(", ")));
    const list = el("ul");
    for (const line of visit.lines) {
      const why = line.covered ? line.explanation.join(" ") : (line.reason || line.explanation.join(" "));
      list.append(el("li", {}, `${line.code} ${line.description}: ${why}`));
    }
    details.append(list);
    return details;
  }

  function renderTable(est, s, second) {
    const tbody = $("visits").tBodies[0];
    const cumulative = new Map(s.series.map((p) => [p.visit, p.cumulative_patient]));
    const column = $("second-col");
    column.hidden = !second;
    column.textContent = second ? `${second} pays` : "Other coverage pays";
    // a second payer's amount is left out of a visit's totals when it is zero
    const secondCell = (v) => second ? [el("td", { class: "num" }, money(v.totals.secondary || "0.00"))] : [];
    tbody.replaceChildren(...est.visits.map((v) => el("tr", {},
      el("td", {}, String(v.number)),
      el("td", { class: "nowrap" }, longDate(v.date)),
      el("td", {}, v.phase),
      el("td", { class: "num" }, money(v.totals.charge)),
      el("td", { class: "num" }, money(v.totals.payer)),
      ...secondCell(v),
      el("td", { class: "num" }, money(v.totals.patient_net)),
      el("td", {}, breakdown(v)),
      el("td", { class: "num" }, money(cumulative.get(v.number))),
    )));
  }

  function renderChart(s) {
    const chart = $("chart");
    chart.replaceChildren();
    const W = 640, H = 320, left = 84, right = 20, top = 20, bottom = 44;
    const day = (iso) => Date.UTC(...iso.split("-").map((n, i) => Number(n) - (i === 1 ? 1 : 0))) / 864e5;
    const t0 = day(s.start), t1 = day(s.first_year_end);
    const points = s.series.filter((p) => day(p.date) < t1);
    const top100 = Math.max(1, ...points.map((p) => Math.ceil(cents(p.cumulative_patient) / 100)));
    const raw = top100 / 4;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    // whole-dollar steps of at least $1 (a $2.50 step would print $3 at $2.50)
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude)
      .find((v) => v >= raw && v >= 1 && Number.isInteger(v));
    const maxCents = step * 4 * 100;
    const x = (d) => left + ((d - t0) / (t1 - t0)) * (W - left - right);
    const y = (c) => H - bottom - (c / maxCents) * (H - top - bottom);
    chart.append(svg("title", {}, "Cumulative cost to you over the first year"));
    for (let i = 0; i <= 4; i++) {
      const c = step * i * 100;
      chart.append(svg("line", { class: "grid", x1: left, x2: W - right, y1: y(c), y2: y(c) }));
      chart.append(svg("text", { class: "y-amount", x: left - 6, y: y(c) + 5, "text-anchor": "end" },
        money(String(Math.round(step * i)) + ".00").slice(0, -3)));
    }
    for (let m = 0; m <= 12; m += 3) {
      const [yy, mm, dd] = s.start.split("-").map(Number);
      const tick = Date.UTC(yy, mm - 1 + m, Math.min(dd, 28)) / 864e5;
      chart.append(svg("line", { class: "axis", x1: x(tick), x2: x(tick), y1: H - bottom, y2: H - bottom + 5 }));
      chart.append(svg("text", { x: x(tick), y: H - bottom + 24, "text-anchor": "middle" },
        new Date(tick * 864e5).toLocaleDateString("en-US", { month: "short", year: "2-digit", timeZone: "UTC" })));
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
    const names = { deductible: "Deductible met", out_of_pocket_max: "Out-of-pocket maximum reached" };
    let labelRow = 0;
    for (const m of s.milestones) {
      if (day(m.date) >= t1) continue;
      const mx = x(day(m.date));
      chart.append(svg("line", { class: m.kind, x1: mx, x2: mx, y1: top, y2: H - bottom, "data-kind": m.kind }));
      const anchor = mx > W / 2 ? "end" : "start";
      chart.append(svg("text", { class: m.kind, x: mx + (anchor === "end" ? -4 : 4), y: top + 14 + 18 * labelRow++, "text-anchor": anchor },
        names[m.kind]));
      described.push(`${names[m.kind]} (${money(m.amount)}) ${m.met_before_start ? "before the first visit" : "at visit " + m.visit + " on " + longDate(m.date)}.`);
    }
    const last = points.length ? points[points.length - 1].cumulative_patient : "0.00";
    $("chart-desc").textContent =
      `You pay ${money(last)} in total over ${points.length} visits in the first year. ` + described.join(" ");
  }

  // ---- embedding: tell the page that holds this frame how tall it is ------------------------
  function postHeight() {
    if (window.parent !== window) {
      window.parent.postMessage({ type: "ketacost:height", height: document.documentElement.scrollHeight }, "*");
    }
  }

  $("treatment").addEventListener("change", syncForm);
  $("insurance").addEventListener("change", syncForm);
  $("print").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => {
    for (const d of document.querySelectorAll("#visits details")) d.open = true;
  });
  if (typeof ResizeObserver === "function") new ResizeObserver(postHeight).observe(document.body);
  form.addEventListener("submit", submit);
  syncForm();
})();
