/**
 * Draws a machine definition as SVG (layout from statechart-model.ts): one box per top-level
 * state, regions and child states listed inside, arrows between states labelled with their events,
 * and the active state (and active children) highlighted. Works offline: nothing but the JSON
 * from /v3/statecharts and the current state value.
 */
import { useMemo } from 'preact/hooks';
import { activePaths, chartModel, type ChartEdge, type ChartNode } from './statechart-model.ts';

interface Props {
  definition: unknown;
  value: unknown;
  title: string;
}

function edgePath(from: ChartNode, to: ChartNode, edge: ChartEdge, backIndex: number, chartHeight: number): { d: string; lx: number; ly: number } {
  if (!edge.back) {
    const x1 = from.x + from.width;
    const y1 = from.y + Math.min(from.height / 2, 17);
    const x2 = to.x;
    const y2 = to.y + Math.min(to.height / 2, 17);
    const mx = (x1 + x2) / 2;
    return { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 2},${y2}`, lx: mx, ly: (y1 + y2) / 2 - 4 };
  }
  // back edges run along the bottom of the chart, each on its own lane
  const lane = chartHeight - 10 - (backIndex % 6) * 14;
  const x1 = from.x + from.width / 2 + 12;
  const y1 = from.y + from.height;
  const x2 = to.x + to.width / 2 - 12;
  const y2 = to.y + to.height;
  return { d: `M${x1},${y1} L${x1},${lane} L${x2},${lane} L${x2},${y2 + 2}`, lx: (x1 + x2) / 2, ly: lane - 3 };
}

export function StatechartView({ definition, value, title }: Props) {
  const model = useMemo(() => chartModel(definition), [definition]);
  const active = useMemo(() => activePaths(value), [value]);
  const byKey = new Map(model.nodes.map((n) => [n.key, n]));
  let backIndex = 0;

  return (
    <figure class="statechart" data-chart={model.id}>
      <figcaption>
        {title} <span class="muted">({model.id})</span>
      </figcaption>
      <div class="statechart-scroll">
        <svg
          width={model.width}
          height={model.height}
          viewBox={`0 0 ${model.width} ${model.height}`}
          role="img"
          aria-label={`${title} statechart, current state ${[...active].filter((p) => !p.includes('.')).join(', ') || 'unknown'}`}
        >
          <defs>
            <marker id={`arrow-${model.id}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
            </marker>
          </defs>
          {model.edges.map((e) => {
            const from = byKey.get(e.from);
            const to = byKey.get(e.to);
            if (!from || !to) return null;
            const { d, lx, ly } = edgePath(from, to, e, e.back ? backIndex++ : 0, model.height);
            const label = e.events.length > 1 ? `${e.events[0]} +${e.events.length - 1}` : e.events[0];
            return (
              <g class={`edge${active.has(e.from) ? ' edge-from-active' : ''}`} key={`${e.from}-${e.to}`}>
                <title>{`${e.from} → ${e.to}: ${e.events.join(', ')}`}</title>
                <path d={d} marker-end={`url(#arrow-${model.id})`} />
                <text x={lx} y={ly} text-anchor="middle">
                  {label}
                </text>
              </g>
            );
          })}
          {model.nodes.map((n) => {
            const isActive = active.has(n.key);
            return (
              <g class={`state state-${n.type}${isActive ? ' active' : ''}`} key={n.key} data-state={n.key} data-active={isActive ? 'true' : 'false'}>
                <title>{n.description ?? n.key}</title>
                <rect x={n.x} y={n.y} width={n.width} height={n.height} rx="8" ry="8" />
                {n.key === model.initial && <circle cx={n.x - 8} cy={n.y + 17} r="4" class="initial-dot" />}
                <text x={n.x + 10} y={n.y + 22} class="state-name">
                  {n.key}
                </text>
                {n.type === 'final' && <text x={n.x + n.width - 12} y={n.y + 22} text-anchor="end" class="muted">final</text>}
                {n.type === 'parallel'
                  ? n.children.map((region, i) => (
                      <text x={n.x + 10} y={n.y + 34 + 13 + i * 17} class="child-row" key={region.key}>
                        <tspan class="region-name">{region.key}: </tspan>
                        {region.children.map((child, j) => {
                          const on = active.has(`${n.key}.${region.key}.${child}`);
                          return (
                            <tspan class={on ? 'child active-child' : 'child'} key={child}>
                              {j > 0 ? ' · ' : ''}
                              {child}
                            </tspan>
                          );
                        })}
                      </text>
                    ))
                  : n.children.length > 0 && (
                      <text x={n.x + 10} y={n.y + 34 + 13} class="child-row">
                        {n.children.map((child, j) => (
                          <tspan class={active.has(`${n.key}.${child.key}`) ? 'child active-child' : 'child'} key={child.key}>
                            {j > 0 ? ' · ' : ''}
                            {child.key}
                          </tspan>
                        ))}
                      </text>
                    )}
              </g>
            );
          })}
        </svg>
      </div>
      {model.anyState.length > 0 && (
        <p class="any-state muted">
          from any state: {model.anyState.map((t) => `${t.event} → ${t.to}`).join(' · ')}
        </p>
      )}
    </figure>
  );
}
