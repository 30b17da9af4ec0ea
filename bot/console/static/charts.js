// The figures page: Chart.js (vendored, no network) drawn from figures.json, redrawn live.
"use strict";

(() => {
  const body = document.body;
  const url = body.dataset.figures;
  if (!url || !window.Chart) return;
  const green = "#07c160", amber = "#f0a020", blue = "#3b82f6", grey = "#d1d5db";
  const palette = [green, blue, amber, "#8b5cf6", "#ef4444", "#14b8a6", "#f97316", "#64748b"];
  Chart.defaults.font.family = getComputedStyle(body).fontFamily;
  Chart.defaults.font.size = 13;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 250 };
  const charts = {};
  const yuan = (v) => `¥${Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 2 })}`;

  function make(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return null;
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }

  function bars(id, label, color) {
    return make(id, {
      type: "bar",
      data: { labels: [], datasets: [{ label, data: [], backgroundColor: color, borderRadius: 4, maxBarThickness: 28 }] },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => yuan(c.raw) } } },
        scales: { x: { beginAtZero: true, ticks: { callback: yuan, maxTicksLimit: 5 } } },
      },
    });
  }

  function ring(id, labels, colors) {
    return make(id, {
      type: "doughnut",
      data: { labels, datasets: [{ data: [0, 0], backgroundColor: colors }] },
      options: { cutout: "60%", plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } } },
    });
  }

  make("chart-series", {
    data: {
      labels: [],
      datasets: [
        { type: "bar", label: "订单", data: [], backgroundColor: "rgba(59,130,246,.55)", yAxisID: "orders", order: 2 },
        { type: "line", label: "累计销售额", data: [], borderColor: green, backgroundColor: green, yAxisID: "sales", tension: 0.25, pointRadius: 2, order: 1 },
      ],
    },
    options: {
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
        orders: { position: "left", beginAtZero: true, ticks: { precision: 0, maxTicksLimit: 5 } },
        sales: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: yuan, maxTicksLimit: 5 } },
      },
    },
  });
  bars("chart-items", "销售额", green);
  bars("chart-groups", "销售额", blue);
  ring("chart-paid", ["已付款", "未付款"], [green, amber]);
  ring("chart-collected", ["已取货", "未取货"], [green, grey]);

  function goals(list) {
    const box = document.getElementById("goals");
    if (!box || !list.length) return;
    box.replaceChildren(...list.map((g) => {
      const row = document.createElement("div");
      row.className = "goal" + (g.ratio >= 1 ? " reached" : "");
      row.dataset.testid = "goal";
      const text = document.createElement("div");
      text.className = "row";
      const name = document.createElement("span");
      name.textContent = g.label;
      const count = document.createElement("b");
      count.textContent = `${g.have}/${g.need}${g.unit}${g.ratio >= 1 ? " ✓" : ""}`;
      text.append(name, count);
      const track = document.createElement("div");
      track.className = "track";
      const fill = document.createElement("div");
      fill.className = "fill";
      fill.style.width = `${Math.round(g.ratio * 100)}%`;
      track.append(fill);
      row.append(text, track);
      return row;
    }));
  }

  function set(chart, labels, ...series) {
    if (!chart) return;
    if (chart.options.indexAxis === "y") {
      // Bars one thumb apart however many items or groups there are.
      chart.canvas.parentNode.style.height = `${Math.max(120, 40 * labels.length + 48)}px`;
    }
    chart.data.labels = labels;
    series.forEach((data, i) => { chart.data.datasets[i].data = data; });
    chart.update();
  }

  async function draw() {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const f = await response.json();
    document.querySelector("[data-total=orders]").textContent = f.orders;
    document.querySelector("[data-total=buyers]").textContent = f.buyers;
    document.querySelector("[data-total=sales]").textContent = Number(f.sales).toFixed(2);
    set(charts["chart-series"], f.series.labels, f.series.orders, f.series.sales);
    set(charts["chart-items"], f.items.labels.map((l, i) => `${l} ${f.items.units[i]}`), f.items.sales);
    set(charts["chart-groups"], f.groups.labels.map((l, i) => `${l} ${f.groups.buyers[i]}人`), f.groups.sales);
    set(charts["chart-paid"], [`已付款 ${f.paid.counts[0]}单`, `未付款 ${f.paid.counts[1]}单`], f.paid.counts);
    set(charts["chart-collected"], [`已取货 ${f.collected[0]}`, `未取货 ${f.collected[1]}`], f.collected);
    goals(f.goals);
    body.dataset.figuresOrders = String(f.orders);
  }
  window.consoleFigures = draw;
  draw();
})();
