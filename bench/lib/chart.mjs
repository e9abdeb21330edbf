// The scaling chart as hand-written SVG: per-delta time (log scale) against earlier messages
// and against answer size, for ours / the limit / the peer, Node solid and Chromium dashed.
const COLORS = { ours: '#d9480f', limit: '#2b8a3e', peer: '#1c7ed6' };
const NAMES = { ours: 'ours (kapa-agent-wasm)', limit: 'limit (minimal JS loop)', peer: 'peer (AI SDK AbstractChat)' };

export function scalingSvg(results) {
  const W = 960, H = 420, panelW = 400, panelH = 280, top = 60, lefts = [80, 560];
  const panels = [
    { title: 'per-delta time vs earlier messages (20,000-delta answer)', ids: ['earlier-1', 'earlier-100', 'earlier-1000'], xs: ['1', '100', '1,000'] },
    { title: 'per-delta time vs answer size (1 KiB reads)', ids: ['size-1k', 'size-100k', 'size-1m'], xs: ['1 KiB', '100 KiB', '1 MiB'] },
  ];
  const vals = [];
  for (const r of results) for (const p of panels) for (const id of p.ids) for (const who of Object.keys(COLORS)) {
    const v = r.workloads[id]?.contenders[who]?.perDeltaUs; if (v > 0) vals.push(v);
  }
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals, 10))));
  const y = (v) => top + panelH - (Math.log10(v / lo) / Math.log10(hi / lo)) * panelH;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  panels.forEach((p, pi) => {
    const left = lefts[pi];
    const x = (i) => left + 30 + i * ((panelW - 60) / 2);
    out.push(`<text x="${left + panelW / 2}" y="${top - 25}" text-anchor="middle" font-weight="bold">${p.title}</text>`);
    out.push(`<rect x="${left}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
    for (let d = lo; d <= hi; d *= 10) {
      out.push(`<line x1="${left}" x2="${left + panelW}" y1="${y(d)}" y2="${y(d)}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(1)} µs</text>`);
    }
    p.xs.forEach((lab, i) => out.push(`<text x="${x(i)}" y="${top + panelH + 18}" text-anchor="middle">${lab}</text>`));
    results.forEach((r) => {
      const dash = r.runtime === 'node' ? '' : ' stroke-dasharray="6 4"';
      for (const who of Object.keys(COLORS)) {
        const pts = p.ids.map((id, i) => [x(i), r.workloads[id]?.contenders[who]?.perDeltaUs]).filter(([, v]) => v > 0);
        if (pts.length < 2) continue;
        out.push(`<polyline fill="none" stroke="${COLORS[who]}" stroke-width="2"${dash} points="${pts.map(([a, v]) => `${a.toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
        for (const [a, v] of pts) out.push(`<circle cx="${a.toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${COLORS[who]}"/>`);
      }
    });
  });
  let lx = 80; const ly = H - 40;
  for (const who of Object.keys(COLORS)) {
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${COLORS[who]}" stroke-width="3"/><text x="${lx + 30}" y="${ly + 4}">${NAMES[who]}</text>`);
    lx += 250;
  }
  out.push(`<text x="80" y="${ly + 22}">solid: Node · dashed: headless Chromium · log scale · medians</text>`);
  out.push('</svg>');
  return out.join('\n');
}
