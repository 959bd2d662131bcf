// Directed graphs drawn in the page (the workflow diagram and the call graph): a layered layout
// in the manner of Sugiyama et al. — break cycles, rank by longest path, route long edges
// through dummy nodes, order each layer by the barycenter of its neighbours, then place — and
// SVG. An edge's label is a node of its own in the layout, so labels never sit on each other.

import {s} from "./dom.js";

const classes = (...names) => names.filter(Boolean).join(" ").split(/\s+/).filter(Boolean).join(" ");

const GAP_X = 26;
const GAP_Y = 34;
const MARGIN = 16;

let measureCtx = null;

function textWidth(text, font) {
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

function sizeOf(node) {
  if (node.kind === "bar") return [Math.max(60, (node.span || 1) * 40), 8];
  if (node.kind === "dummy") return [8, 20];
  if (node.kind === "label") return [Math.ceil(textWidth(node.label, "11.5px monospace")) + 14, 20];
  const w = Math.ceil(textWidth(node.label, "13px system-ui, sans-serif"));
  if (node.kind === "start" || node.kind === "done") return [Math.max(64, w + 34), 34];
  // a note (a step's settings) is a second, smaller line
  if (node.note) return [Math.max(72, w + 28, Math.ceil(textWidth(node.note, "11px system-ui, sans-serif")) + 20), 46];
  return [Math.max(72, w + 28), 34];
}

/**
 * Lay out `nodes` ({id, label, kind}) and `edges` ({id, from, to, label?}).
 * Returns {width, height, nodes: [{...node, x, y, w, h}], edges: [{...edge, points}]}.
 */
export function layout(nodes, edges) {
  const all = new Map();
  const order = [];
  const addNode = (n) => {
    const [w, h] = sizeOf(n);
    const node = {...n, w, h, loopW: 0};
    all.set(n.id, node);
    order.push(node);
    return node;
  };
  for (const n of nodes) addNode(n);

  // segments: the edges of the layout graph; an edge with a label becomes from -> label -> to
  const segs = [];
  const chains = [];
  const loops = [];
  for (const e of edges) {
    if (!all.has(e.from) || !all.has(e.to)) continue;
    if (e.from === e.to) {
      const node = all.get(e.from);
      const lw = e.label ? Math.ceil(textWidth(e.label, "11.5px monospace")) + 20 : 0;
      node.loopW = Math.max(node.loopW, 46 + lw);
      loops.push(e);
      continue;
    }
    const chain = [e.from];
    if (e.label) {
      const lab = addNode({id: `label:${e.id}`, label: e.label, kind: "label", edge: e.id, cls: e.cls});
      chain.push(lab.id);
    }
    chain.push(e.to);
    const own = [];
    for (let i = 0; i + 1 < chain.length; i++) own.push({u: chain[i], v: chain[i + 1]});
    segs.push(...own);
    chains.push({edge: e, segs: own});
  }

  // 1. break cycles: a depth-first walk from the start nodes reverses the edges that close a cycle
  const out = new Map(order.map((n) => [n.id, []]));
  for (const sg of segs) out.get(sg.u).push(sg);
  const state = new Map();
  const reversed = new Set();
  const roots = [...order.filter((n) => n.kind === "start"), ...order];
  for (const root of roots) {
    if (state.has(root.id)) continue;
    const stack = [[root.id, 0]];
    state.set(root.id, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const outs = out.get(top[0]);
      if (top[1] < outs.length) {
        const sg = outs[top[1]++];
        const st = state.get(sg.v);
        if (st === 1) reversed.add(sg);
        else if (!st) { state.set(sg.v, 1); stack.push([sg.v, 0]); }
      } else {
        state.set(top[0], 2);
        stack.pop();
      }
    }
  }
  const dag = segs.map((sg) => (reversed.has(sg) ? {u: sg.v, v: sg.u, seg: sg} : {u: sg.u, v: sg.v, seg: sg}));

  // 2. rank by longest path from the sources
  const indeg = new Map(order.map((n) => [n.id, 0]));
  const succ = new Map(order.map((n) => [n.id, []]));
  for (const d of dag) { indeg.set(d.v, indeg.get(d.v) + 1); succ.get(d.u).push(d); }
  const rank = new Map(order.map((n) => [n.id, 0]));
  const queue = order.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  while (queue.length) {
    const id = queue.shift();
    for (const d of succ.get(id)) {
      rank.set(d.v, Math.max(rank.get(d.v), rank.get(id) + 1));
      indeg.set(d.v, indeg.get(d.v) - 1);
      if (indeg.get(d.v) === 0) queue.push(d.v);
    }
  }
  // an end node sits below everything that leads to it
  const maxRank = Math.max(0, ...rank.values());
  for (const n of order) if (n.kind === "done" && rank.get(n.id) > 0) rank.set(n.id, maxRank);

  // 3. long edges pass through dummy nodes, one per layer crossed
  const links = [];               // unit-length links between adjacent layers
  const route = new Map();        // seg -> node ids from its u to its v (in layout direction)
  let dummies = 0;
  for (const d of dag) {
    const path = [d.u];
    for (let r = rank.get(d.u) + 1; r < rank.get(d.v); r++) {
      const dn = addNode({id: `dummy:${dummies++}`, label: "", kind: "dummy"});
      rank.set(dn.id, r);
      path.push(dn.id);
    }
    path.push(d.v);
    for (let i = 0; i + 1 < path.length; i++) links.push([path[i], path[i + 1]]);
    route.set(d.seg, path);
  }

  // 4. order each layer by barycenters, sweeping down and up
  const layers = [];
  for (const n of order) {
    const r = rank.get(n.id);
    (layers[r] ||= []).push(n.id);
  }
  for (let r = 0; r < layers.length; r++) layers[r] ||= [];
  const up = new Map(order.map((n) => [n.id, []]));
  const down = new Map(order.map((n) => [n.id, []]));
  for (const [a, b] of links) { down.get(a).push(b); up.get(b).push(a); }
  const pos = new Map();
  const index = () => layers.forEach((layer) => layer.forEach((id, i) => pos.set(id, i)));
  index();
  const sweep = (r, neighbours) => {
    const keyed = layers[r].map((id, i) => {
      const ns = neighbours.get(id);
      return [ns.length ? ns.reduce((sum, x) => sum + pos.get(x), 0) / ns.length : i, i, id];
    });
    keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    layers[r] = keyed.map((k) => k[2]);
    layers[r].forEach((id, i) => pos.set(id, i));
  };
  for (let it = 0; it < 8; it++) {
    for (let r = 1; r < layers.length; r++) sweep(r, up);
    for (let r = layers.length - 2; r >= 0; r--) sweep(r, down);
  }

  // 5. place: x by the neighbours' centres, keeping the order and the gaps; y by layer
  const x = new Map();
  for (const layer of layers) {
    let cursor = 0;
    for (const id of layer) {
      const n = all.get(id);
      x.set(id, cursor + n.w / 2);
      cursor += n.w + n.loopW + GAP_X;
    }
  }
  const settle = (layer, desired) => {
    const px = layer.map((id, i) => desired[i]);
    for (let i = 1; i < layer.length; i++) {
      const a = all.get(layer[i - 1]), b = all.get(layer[i]);
      px[i] = Math.max(px[i], px[i - 1] + a.w / 2 + a.loopW + GAP_X + b.w / 2);
    }
    for (let i = layer.length - 2; i >= 0; i--) {
      const a = all.get(layer[i]), b = all.get(layer[i + 1]);
      px[i] = Math.min(px[i], px[i + 1] - (a.w / 2 + a.loopW + GAP_X + b.w / 2));
    }
    layer.forEach((id, i) => x.set(id, px[i]));
  };
  const centre = (ids) => ids.reduce((sum, id) => sum + x.get(id), 0) / ids.length;
  for (let it = 0; it < 12; it++) {
    const passes = it % 2 === 0 ? [...layers.keys()] : [...layers.keys()].reverse();
    for (const r of passes) {
      const layer = layers[r];
      const desired = layer.map((id) => {
        const ns = [...up.get(id), ...down.get(id)];
        return ns.length ? centre(ns) : x.get(id);
      });
      settle(layer, desired);
    }
  }
  let minX = Infinity, maxX = -Infinity;
  for (const n of order) {
    minX = Math.min(minX, x.get(n.id) - n.w / 2);
    maxX = Math.max(maxX, x.get(n.id) + n.w / 2 + n.loopW);
  }
  const y = new Map();
  let top = MARGIN;
  for (const layer of layers) {
    const hgt = Math.max(8, ...layer.map((id) => all.get(id).h));
    for (const id of layer) y.set(id, top + hgt / 2);
    top += hgt + GAP_Y;
  }
  for (const n of order) {
    n.x = x.get(n.id) - minX + MARGIN;
    n.y = y.get(n.id);
  }

  // 6. edges: points through the chain's nodes, from the source's border to the target's
  const placed = chains.map(({edge, segs: own}) => {
    const pts = [];
    for (const sg of own) {
      let ids = route.get(sg);
      if (reversed.has(sg)) ids = [...ids].reverse();
      const seg = ids.map((id) => all.get(id));
      for (let k = 0; k < seg.length; k++) {
        if (pts.length && k === 0) continue;
        pts.push([seg[k].x, seg[k].y]);
      }
    }
    const from = all.get(edge.from), to = all.get(edge.to);
    // leave and enter at the borders facing the way the edge goes
    const first = pts[0], second = pts[1], last = pts[pts.length - 1], before = pts[pts.length - 2];
    first[1] += (second[1] >= first[1] ? 1 : -1) * from.h / 2;
    last[1] += (before[1] > last[1] ? 1 : -1) * to.h / 2;
    return {...edge, points: pts};
  });
  const loopEdges = loops.map((e) => ({...e, loop: true, node: all.get(e.from)}));
  return {width: maxX - minX + 2 * MARGIN, height: top - GAP_Y + MARGIN,
          nodes: order.filter((n) => n.kind !== "dummy" && n.kind !== "label"),
          labels: order.filter((n) => n.kind === "label"), edges: [...placed, ...loopEdges]};
}

function pathOf(points) {
  let d = `M${points[0][0].toFixed(1)},${points[0][1].toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    const dy = (y1 - y0) / 2;
    d += ` C${x0.toFixed(1)},${(y0 + dy).toFixed(1)} ${x1.toFixed(1)},${(y1 - dy).toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`;
  }
  return d;
}

function loopPath(node) {
  const x = node.x + node.w / 2, y = node.y;
  return `M${x},${y - 7} C${x + 38},${y - 30} ${x + 38},${y + 30} ${x},${y + 7}`;
}

const ARROWS = ["plain", "failed", "path"];

/** Draw a layout as SVG. `nodeLink(node)` may give an href; classes come from node.kind/node.cls
 *  and edge.cls. Nodes carry data-node, edges data-edge, for overlays. */
export function draw(g, {nodeLink = () => null, nodeTitle = () => null, label = "graph"} = {}) {
  const svg = s("svg", {width: Math.ceil(g.width), height: Math.ceil(g.height),
                        viewBox: `0 0 ${Math.ceil(g.width)} ${Math.ceil(g.height)}`, role: "img", "aria-label": label});
  svg.appendChild(s("defs", null, ARROWS.map((kind) =>
    s("marker", {id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: kind === "path" ? 11 : 9,
               markerHeight: kind === "path" ? 11 : 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse"},
      s("path", {d: "M0,0 L10,5 L0,10 z", class: `arrow ${kind}`})))));
  const edgeLayer = s("g", {class: "edges"});
  for (const e of g.edges) {
    const d = e.loop ? loopPath(e.node) : pathOf(e.points);
    const grp = s("g", {class: classes("edge", e.cls), "data-edge": e.id},
                  s("path", {d, "marker-end": `url(#arrow-${e.cls && e.cls.includes("failed") ? "failed" : "plain"})`}),
                  e.title ? s("title", {text: e.title}) : null);
    if (e.loop && e.label) {
      const n = e.node;
      const tw = Math.ceil(textWidth(e.label, "11.5px monospace")) + 10;
      grp.appendChild(s("g", {class: classes("label", e.cls), "data-label": e.id},
        s("rect", {x: n.x + n.w / 2 + 36, y: n.y - 10, width: tw, height: 20, rx: 4}),
        s("text", {x: n.x + n.w / 2 + 36 + tw / 2, y: n.y, text: e.label})));
    }
    edgeLayer.appendChild(grp);
  }
  for (const l of g.labels) {
    edgeLayer.appendChild(s("g", {class: classes("label", l.cls), "data-label": l.edge},
      s("rect", {x: l.x - l.w / 2, y: l.y - l.h / 2, width: l.w, height: l.h, rx: 4}),
      s("text", {x: l.x, y: l.y, text: l.label})));
  }
  svg.appendChild(edgeLayer);
  const nodeLayer = s("g", {class: "nodes"});
  for (const n of g.nodes) {
    const shape = n.kind === "start" || n.kind === "done"
      ? s("ellipse", {cx: n.x, cy: n.y, rx: n.w / 2, ry: n.h / 2})
      : s("rect", {x: n.x - n.w / 2, y: n.y - n.h / 2, width: n.w, height: n.h, rx: n.kind === "bar" ? 2 : 6});
    const grp = s("g", {class: classes("node", n.kind, n.cls), "data-node": n.id}, shape,
                  n.kind === "sub" ? s("rect", {class: "inner", x: n.x - n.w / 2 + 3, y: n.y - n.h / 2 + 3, width: n.w - 6, height: n.h - 6, rx: 4}) : null,
                  n.kind === "bar" ? null : s("text", {x: n.x, y: n.note ? n.y - 8 : n.y, text: n.label}),
                  n.note ? s("text", {class: "note", x: n.x, y: n.y + 9, text: n.note}) : null,
                  nodeTitle(n) ? s("title", {text: nodeTitle(n)}) : null);
    const href = nodeLink(n);
    nodeLayer.appendChild(href ? s("a", {href, "aria-label": nodeTitle(n) || n.label}, grp) : grp);
  }
  svg.appendChild(nodeLayer);
  return svg;
}

/** Put visit numbers on a node (the instance path overlay). */
export function orderBadge(svg, nodeId, text) {
  const grp = svg.querySelector(`[data-node="${CSS.escape(nodeId)}"]`);
  if (!grp) return;
  const shape = grp.querySelector("rect, ellipse");
  const box = shape.getBBox();
  const w = Math.max(18, text.length * 7 + 8);
  grp.appendChild(s("g", {class: "order"},
    s("rect", {x: box.x + box.width - w / 2, y: box.y - 9, width: w, height: 18, rx: 9, class: "order-bg"}),
    s("text", {x: box.x + box.width, y: box.y, text})));
}
